package org.attnzoo.zoo.hub;

import java.util.List;

/**
 * Result of {@link ModelCache#rm(String)}.
 *
 * @param removedTags tags whose index entries (and converted models) were removed
 * @param blobsRemoved blobs deleted because nothing else referenced them
 * @param bytesFreed   bytes freed
 */
public record RmReport(List<String> removedTags, int blobsRemoved, long bytesFreed) {

    public RmReport {
        removedTags = List.copyOf(removedTags);
    }
}
