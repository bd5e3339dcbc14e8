package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;

/**
 * One place a {@link WeightFile} can be downloaded from.
 *
 * <p>In JSON a source is either a plain URL string (a byte-identical copy of the file: it inherits
 * every field of the file) or an object with its own {@code url} and optionally {@code name},
 * {@code format}, {@code sha256}, {@code size} and {@code wrapping_key}. An object source
 * describes its own bytes: {@code name}, {@code format} and {@code wrapping_key} default to the
 * file's, but {@code sha256} and {@code size} are never inherited (absent = unknown). This is how
 * an authors' release in another format (e.g. a {@code .pth} next to a timm {@code .safetensors})
 * is listed as a fallback.
 *
 * <p>{@link WeightFile#sources()} returns sources with all defaults applied.
 *
 * @param url         absolute {@code https:}, {@code http:} or {@code file:} URL
 * @param name        file name of these bytes (used for the mirror layout), {@code null} = inherit
 * @param format      format of these bytes, {@code null} = inherit
 * @param sha256      lowercase hex SHA-256 of these bytes, {@code null} = unknown (pinned on first download)
 * @param size        size in bytes, {@code null} = unknown
 * @param wrappingKey top-level key holding the state dict in a checkpoint ({@code null} = inherit,
 *                    {@code ""} = explicitly none)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WeightSource(
        @JsonProperty(value = "url", required = true) URI url,
        @JsonProperty("name") String name,
        @JsonProperty("format") WeightFormat format,
        @JsonProperty("sha256") String sha256,
        @JsonProperty("size") Long size,
        @JsonProperty("wrapping_key") String wrappingKey) {

    @JsonCreator(mode = JsonCreator.Mode.PROPERTIES)
    public WeightSource {
    }

    /** A plain-URL source (inherits everything from its file). */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static WeightSource of(String url) {
        return new WeightSource(URI.create(url), null, null, null, null, null);
    }

    /** True when this is a plain URL (a byte-identical copy of its file). */
    @JsonIgnore
    public boolean isPlain() {
        return name == null && format == null && sha256 == null && size == null && wrappingKey == null;
    }

    /** The wrapping key, with {@code ""} mapped to {@code null}. */
    @JsonIgnore
    public String effectiveWrappingKey() {
        return wrappingKey == null || wrappingKey.isEmpty() ? null : wrappingKey;
    }

    /** The URL's scheme in lower case. */
    @JsonIgnore
    public String scheme() {
        return url.getScheme() == null ? "" : url.getScheme().toLowerCase(java.util.Locale.ROOT);
    }

    /** Scheme of weights shipped inside the AttnZoo jar: {@code classpath:/org/attnzoo/...}. */
    public static final String CLASSPATH = "classpath";

    /** True for {@code file:} and {@code classpath:} URLs, which are readable in offline mode. */
    @JsonIgnore
    public boolean isLocal() {
        return "file".equals(scheme()) || CLASSPATH.equals(scheme());
    }
}
