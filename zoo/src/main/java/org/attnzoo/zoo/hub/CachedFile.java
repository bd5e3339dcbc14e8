package org.attnzoo.zoo.hub;

import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;

/**
 * A weight file present in the cache index.
 *
 * @param tag         weights tag
 * @param name        logical file name from the registry (key in the index)
 * @param path        the content-addressed blob, {@code blobs/sha256/<sha256>}
 * @param sha256      hash of the blob
 * @param size        size in bytes
 * @param source      canonical (registry) URL of the source these bytes came from
 * @param fetchedFrom URL actually read (differs from {@code source} with a mirror)
 * @param sourceName  file name of these bytes at the source (e.g. {@code convit_tiny.pth})
 * @param format      format of these bytes (may differ from the registry file's primary format
 *                    when a fallback source was used)
 * @param wrappingKey checkpoint key wrapping the state dict, or null
 * @param pinned      true when {@code sha256} was not in the registry and was pinned at first download
 * @param fetchedAt   when it was stored
 */
public record CachedFile(String tag, String name, Path path, String sha256, long size, URI source, URI fetchedFrom,
                         String sourceName, WeightFormat format, String wrappingKey, boolean pinned, Instant fetchedAt) {
}
