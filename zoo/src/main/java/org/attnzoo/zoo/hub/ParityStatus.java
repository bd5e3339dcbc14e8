package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Whether our ONNX build of a model has been checked against the upstream implementation. */
public enum ParityStatus {
    /** Outputs were compared with the upstream (PyTorch) model and match within tolerance. */
    @JsonProperty("verified") VERIFIED,
    /** Builds and runs, but no parity run has been recorded yet. */
    @JsonProperty("unverified") UNVERIFIED,
    /** Known not to work (yet); the reason says why. */
    @JsonProperty("unsupported") UNSUPPORTED;

    /** The JSON spelling. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
