package org.attnzoo.zoo.arch;

import java.util.List;
import java.util.stream.Collectors;

/**
 * What a model offers besides its logits: the pooled pre-logits vector (an embedding) and the
 * stage outputs a detection or segmentation head takes (feature maps, NCHW). Families declare it
 * from their configuration, without building anything, so {@code info} can show it and a request
 * for an index the model does not have fails before any weights are read.
 *
 * @param embeddingDim width of the pre-logits vector (timm's {@code num_features}); 0 when the
 *                     family does not offer one
 * @param stages       feature maps by index, in order; empty when the family offers none
 */
public record Backbone(int embeddingDim, List<Stage> stages) {

    /**
     * One feature map: {@code features.<index>} of shape {@code [N, channels, H/reduction, W/reduction]}
     * where the input size divides; otherwise each family rounds as its upstream layers do (padding
     * stems and convolutions round up, 2x2 stride-2 downsamples and pools round down).
     */
    public record Stage(int index, int channels, int reduction) {
    }

    /** The ONNX metadata form of some stages ({@code attnzoo.features}): {@code index:channels:stride;...}. */
    public static String encode(List<Stage> stages) {
        return stages.stream().map(s -> s.index() + ":" + s.channels() + ":" + s.reduction()).collect(Collectors.joining(";"));
    }

    /** {@link #encode} read back. */
    public static List<Stage> decode(String metadata) {
        List<Stage> out = new java.util.ArrayList<>();
        for (String part : metadata.split(";")) {
            String[] p = part.split(":");
            if (p.length != 3) throw new IllegalArgumentException("bad attnzoo.features entry '" + part + "' (expected index:channels:stride)");
            out.add(new Stage(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])));
        }
        return List.copyOf(out);
    }

    public Backbone {
        stages = List.copyOf(stages);
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i).index() != i) throw new IllegalArgumentException("stage " + i + " has index " + stages.get(i).index());
        }
    }

    /** A backbone of hierarchical stages with these widths and reductions (index i = stage i). */
    public static Backbone of(int embeddingDim, int[] channels, int[] reductions) {
        if (channels.length != reductions.length) throw new IllegalArgumentException("channels and reductions differ in length");
        List<Stage> s = new java.util.ArrayList<>();
        for (int i = 0; i < channels.length; i++) s.add(new Stage(i, channels[i], reductions[i]));
        return new Backbone(embeddingDim, s);
    }

    /**
     * The usual pyramid: stage i has {@code channels[i]} channels at stride {@code firstStride·2^i},
     * and the embedding is as wide as the last stage.
     */
    public static Backbone strided(int[] channels, int firstStride) {
        int[] r = new int[channels.length];
        for (int i = 0; i < r.length; i++) r[i] = firstStride << i;
        return of(channels[channels.length - 1], channels.clone(), r);
    }

    /** {@link #strided} with widths that double from {@code baseChannels} over {@code stages} stages (Swin-style). */
    public static Backbone doubling(int baseChannels, int firstStride, int stages) {
        int[] c = new int[stages];
        for (int i = 0; i < stages; i++) c[i] = baseChannels << i;
        return strided(c, firstStride);
    }

    /** An embedding only (isotropic models: no feature pyramid). */
    public static Backbone embeddingOnly(int embeddingDim) {
        return new Backbone(embeddingDim, List.of());
    }

    public boolean hasEmbedding() {
        return embeddingDim > 0;
    }

    /** The stage of {@code index}, or an error naming the valid indices. */
    public Stage stage(String model, int index) {
        if (index < 0 || index >= stages.size()) {
            throw new IllegalArgumentException(stages.isEmpty()
                    ? model + " offers no feature maps (its outputs: " + describeOutputs() + ")"
                    : model + " has no feature map " + index + "; valid out-indices: " + validIndices() + " (" + describeStages() + ")");
        }
        return stages.get(index);
    }

    /** {@code 0,1,2,3} */
    public String validIndices() {
        return stages.stream().map(s -> Integer.toString(s.index())).collect(Collectors.joining(","));
    }

    /** {@code 0: 64 ch /4, 1: 128 ch /8, ...} */
    public String describeStages() {
        return stages.stream().map(s -> s.index() + ": " + s.channels() + " ch /" + s.reduction()).collect(Collectors.joining(", "));
    }

    /** The output kinds on offer, for {@code info} and error messages. */
    public String describeOutputs() {
        StringBuilder b = new StringBuilder("logits");
        if (hasEmbedding()) b.append(", embedding (").append(embeddingDim).append(")");
        if (!stages.isEmpty()) b.append(", features (").append(describeStages()).append(")");
        return b.toString();
    }
}
