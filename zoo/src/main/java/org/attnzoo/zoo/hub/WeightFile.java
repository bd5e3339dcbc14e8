package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;

/**
 * One logical file of a weight version (usually the weights themselves), with the sources it can
 * be fetched from in order of preference (the upstream host first).
 *
 * @param name        file name, also the key in the cache index and the mirror layout
 * @param urls        sources as written in JSON (strings or objects, see {@link WeightSource})
 * @param sha256      lowercase hex SHA-256, {@code null} when unknown (pinned on first download)
 * @param size        size in bytes, {@code null} when unknown
 * @param format      file format
 * @param wrappingKey top-level checkpoint key holding the state dict, {@code null} if none
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record WeightFile(
        @JsonProperty(value = "name", required = true) String name,
        @JsonProperty(value = "urls", required = true) List<WeightSource> urls,
        @JsonProperty("sha256") String sha256,
        @JsonProperty("size") Long size,
        @JsonProperty(value = "format", required = true) WeightFormat format,
        @JsonProperty("wrapping_key") String wrappingKey) {

    public WeightFile {
        urls = urls == null ? null : List.copyOf(urls);
    }

    /**
     * The sources with defaults applied: plain URLs carry this file's name, format, hash, size and
     * wrapping key; object sources inherit only name, format and wrapping key.
     */
    public List<WeightSource> sources() {
        List<WeightSource> out = new ArrayList<>(urls.size());
        for (WeightSource s : urls) {
            if (s.isPlain()) {
                out.add(new WeightSource(s.url(), name, format, sha256, size, emptyToNull(wrappingKey)));
            } else {
                out.add(new WeightSource(s.url(),
                        s.name() != null ? s.name() : name,
                        s.format() != null ? s.format() : format,
                        s.sha256(), s.size(),
                        s.wrappingKey() != null ? emptyToNull(s.wrappingKey()) : emptyToNull(wrappingKey)));
            }
        }
        return out;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
