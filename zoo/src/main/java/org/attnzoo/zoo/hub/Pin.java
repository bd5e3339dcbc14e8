package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;

/**
 * A hash recorded ("pinned") the first time a file without a registry hash was downloaded; later
 * downloads and reads of that URL must match it (trust on first use).
 *
 * @param sha256   pinned hash
 * @param size     size in bytes
 * @param tag      weights tag it was first downloaded for
 * @param file     logical file name it was first downloaded for
 * @param pinnedAt when
 */
public record Pin(
        @JsonProperty("sha256") String sha256,
        @JsonProperty("size") long size,
        @JsonProperty("tag") String tag,
        @JsonProperty("file") String file,
        @JsonProperty("pinned_at") Instant pinnedAt) {
}
