package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Resize interpolation used by the reference preprocessing (timm / PIL names). */
public enum Interpolation {
    @JsonProperty("nearest") NEAREST,
    @JsonProperty("bilinear") BILINEAR,
    @JsonProperty("bicubic") BICUBIC,
    @JsonProperty("lanczos") LANCZOS,
    @JsonProperty("box") BOX,
    @JsonProperty("hamming") HAMMING;

    /** The JSON spelling. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
