package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;

/** On-disk format of a weight (or companion) file. */
public enum WeightFormat {
    /** Hugging Face safetensors. */
    @JsonProperty("safetensors") SAFETENSORS,
    /** A PyTorch pickle checkpoint ({@code torch.save}), possibly wrapping the state dict under a key. */
    @JsonProperty("pth") PTH,
    /** NumPy {@code .npz} archive (e.g. JAX/big_vision releases). */
    @JsonProperty("npz") NPZ,
    /** A ready ONNX model. */
    @JsonProperty("onnx") ONNX,
    /** A JSON companion file (e.g. labels). */
    @JsonProperty("json") JSON,
    /** A plain-text companion file (e.g. one label per line). */
    @JsonProperty("txt") TXT;

    /** The JSON spelling. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
