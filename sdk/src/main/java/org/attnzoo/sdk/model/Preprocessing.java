package org.attnzoo.sdk.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How images are prepared for a model, as the upstream pretrained config says: input size
 * ({@code [C, H, W]}), per-channel mean and std (on 0–1 pixel values), the centre-crop fraction
 * ({@code crop_pct}: resize the short side to {@code H / crop_pct}, then crop {@code H×W}) and the
 * resize interpolation. Stored in every emitted model's metadata under {@code preprocessing.*}.
 */
public record Preprocessing(int[] inputSize, double[] mean, double[] std, double cropPct, String interpolation, String cropMode) {
    /** timm's crop modes: "center" keeps the aspect ratio and centre-crops; "squash" resizes both sides (no aspect ratio kept). */
    public static final String CENTER = "center", SQUASH = "squash";

    public Preprocessing {
        cropMode = cropMode == null ? CENTER : cropMode;
        if (!cropMode.equals(CENTER) && !cropMode.equals(SQUASH)) {
            throw new IllegalArgumentException("crop mode '" + cropMode + "' (expected center or squash)");
        }
    }

    /** Centre-crop preprocessing (timm's default crop mode). */
    public Preprocessing(int[] inputSize, double[] mean, double[] std, double cropPct, String interpolation) {
        this(inputSize, mean, std, cropPct, interpolation, CENTER);
    }

    /** The same preprocessing with another crop mode. */
    public Preprocessing withCropMode(String mode) {
        return new Preprocessing(inputSize, mean, std, cropPct, interpolation, mode);
    }

    public static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};
    public static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};

    public static Preprocessing imagenet(int size, double cropPct, String interpolation) {
        return new Preprocessing(new int[]{3, size, size}, IMAGENET_MEAN, IMAGENET_STD, cropPct, interpolation);
    }

    public int height() {
        return inputSize[1];
    }

    public int width() {
        return inputSize[2];
    }

    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("preprocessing.input_size", join(Arrays.stream(inputSize).asDoubleStream().toArray(), true));
        m.put("preprocessing.mean", join(mean, false));
        m.put("preprocessing.std", join(std, false));
        m.put("preprocessing.crop_pct", fmt(cropPct));
        m.put("preprocessing.interpolation", interpolation);
        m.put("preprocessing.crop_mode", cropMode);
        return m;
    }

    /** Reads the config back from model metadata; null if the model carries none. */
    public static Preprocessing fromMetadata(Map<String, String> m) {
        if (!m.containsKey("preprocessing.input_size")) return null;
        double[] size = parse(m.get("preprocessing.input_size"));
        int[] is = Arrays.stream(size).mapToInt(d -> (int) d).toArray();
        return new Preprocessing(is, parse(m.get("preprocessing.mean")), parse(m.get("preprocessing.std")),
                Double.parseDouble(m.get("preprocessing.crop_pct")), m.get("preprocessing.interpolation"),
                m.getOrDefault("preprocessing.crop_mode", CENTER));
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e9 ? Long.toString((long) d) : String.format(Locale.ROOT, "%s", d);
    }

    private static String join(double[] v, boolean ints) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            if (i > 0) b.append(',');
            b.append(ints ? Long.toString((long) v[i]) : fmt(v[i]));
        }
        return b.toString();
    }

    private static double[] parse(String s) {
        return Arrays.stream(s.split(",")).map(String::trim).mapToDouble(Double::parseDouble).toArray();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && Arrays.equals(inputSize, p.inputSize) && Arrays.equals(mean, p.mean)
                && Arrays.equals(std, p.std) && cropPct == p.cropPct && interpolation.equals(p.interpolation) && cropMode.equals(p.cropMode);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(inputSize) * 31 + Arrays.hashCode(mean);
    }

    @Override
    public String toString() {
        return "Preprocessing{input=" + Arrays.toString(inputSize) + ", mean=" + Arrays.toString(mean) + ", std="
                + Arrays.toString(std) + ", crop_pct=" + cropPct + ", " + interpolation + (cropMode.equals(CENTER) ? "" : ", " + cropMode) + "}";
    }
}
