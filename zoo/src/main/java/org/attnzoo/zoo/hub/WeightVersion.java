package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Optional;

/**
 * One set of pretrained weights of a model, identified by a timm-style tag.
 *
 * @param tag     full tag {@code <model>.<pretrained tag>}, e.g. {@code convit_tiny.fb_in1k}
 * @param license licence of the weights (SPDX-like id, e.g. {@code apache-2.0})
 * @param files   the files of this version (weights first)
 */
public record WeightVersion(
        @JsonProperty(value = "tag", required = true) String tag,
        @JsonProperty(value = "license", required = true) String license,
        @JsonProperty(value = "files", required = true) List<WeightFile> files) {

    public WeightVersion {
        files = files == null ? null : List.copyOf(files);
    }

    /** The part of the tag after the model name, e.g. {@code fb_in1k}. */
    public String shortTag() {
        int dot = tag.indexOf('.');
        return dot < 0 ? tag : tag.substring(dot + 1);
    }

    /** The file called {@code name}. */
    public Optional<WeightFile> file(String name) {
        return files.stream().filter(f -> f.name().equals(name)).findFirst();
    }
}
