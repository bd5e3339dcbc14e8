package org.attnzoo.zoo.arch;

import org.attnzoo.sdk.model.Preprocessing;

/**
 * A variant of a family: its name, its configuration record and its preprocessing. Families extend
 * this and write only their forward pass (and checkpoint adaptation, where layouts differ).
 */
public abstract class FamilyArchitecture<C extends ImageConfig> implements Architecture {
    private final String family;
    protected final String name;
    protected final C cfg;
    protected final Preprocessing pre;

    protected FamilyArchitecture(String family, String name, C cfg, Preprocessing pre) {
        this.family = family;
        this.name = name;
        this.cfg = cfg;
        this.pre = pre;
    }

    /** The configuration of a named variant, or an error naming the family and the known variants. */
    protected static <T> T lookup(java.util.Map<String, T> variants, String family, String name) {
        T c = variants.get(name);
        if (c == null) throw new IllegalArgumentException("unknown " + family + " variant " + name + "; known: " + variants.keySet());
        return c;
    }

    /** The card's preprocessing at another input size (mean, std, crop and interpolation kept). */
    protected Preprocessing preprocessingAt(int height, int width) {
        return new Preprocessing(new int[]{cfg.inChans(), height, width}, pre.mean(), pre.std(), pre.cropPct(), pre.interpolation(), pre.cropMode());
    }

    /** The error for a size this variant cannot run at, naming the rule and the nearest valid sizes. */
    protected IllegalArgumentException badSize(int height, int width, String rule, int multiple) {
        int h = Math.max(multiple, Math.round((float) height / multiple) * multiple);
        return new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": " + rule
                + (multiple > 1 ? " (e.g. " + h + "x" + h + " or " + (h + multiple) + "x" + (h + multiple) + ")" : ""));
    }

    /** The error for a variant that runs at its card size only, saying why. */
    protected IllegalArgumentException fixedSize(int height, int width, String why) {
        return new IllegalArgumentException(name + " cannot run at " + height + "x" + width + ": " + why
                + " (valid: " + cfg.imgSize() + "x" + cfg.imgSize() + " only)");
    }

    public C config() {
        return cfg;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String family() {
        return family;
    }

    @Override
    public Preprocessing preprocessing() {
        return pre;
    }

    @Override
    public int numClasses() {
        return cfg.numClasses();
    }

    @Override
    public int[] inputSize() {
        return new int[]{cfg.inChans(), cfg.imgSize(), cfg.imgSize()};
    }
}
