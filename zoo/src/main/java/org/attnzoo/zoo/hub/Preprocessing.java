package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * Reference evaluation preprocessing of a model (timm's data config): resize the shorter side to
 * {@code round(H / crop_pct)} with {@code interpolation}, centre-crop {@code H x W}, scale to
 * [0, 1], then subtract {@code mean} and divide by {@code std} per channel.
 *
 * @param inputSize     {@code [C, H, W]}
 * @param mean          per-channel mean, length C
 * @param std           per-channel standard deviation, length C, all &gt; 0
 * @param cropPct       centre-crop fraction in (0, 2]; above 1 the resized image is smaller than the crop and is zero-padded
 * @param interpolation resize interpolation
 * @param cropMode      timm's crop mode: "center" (default when absent) or "squash" (resize both sides to
 *                      {@code H / crop_pct} and {@code W / crop_pct}, aspect ratio not kept, then centre-crop)
 */
public record Preprocessing(
        @JsonProperty(value = "input_size", required = true) List<Integer> inputSize,
        @JsonProperty(value = "mean", required = true) List<Double> mean,
        @JsonProperty(value = "std", required = true) List<Double> std,
        @JsonProperty(value = "crop_pct", required = true) double cropPct,
        @JsonProperty(value = "interpolation", required = true) Interpolation interpolation,
        @JsonProperty(value = "crop_mode") String cropMode) {

    public Preprocessing(List<Integer> inputSize, List<Double> mean, List<Double> std, double cropPct, Interpolation interpolation) {
        this(inputSize, mean, std, cropPct, interpolation, null);
    }

    public Preprocessing {
        cropMode = cropMode == null ? "center" : cropMode;
        inputSize = inputSize == null ? null : List.copyOf(inputSize);
        mean = mean == null ? null : List.copyOf(mean);
        std = std == null ? null : List.copyOf(std);
    }

    /** Number of input channels. */
    public int channels() {
        return inputSize.get(0);
    }

    /** Input height. */
    public int height() {
        return inputSize.get(1);
    }

    /** Input width. */
    public int width() {
        return inputSize.get(2);
    }
}
