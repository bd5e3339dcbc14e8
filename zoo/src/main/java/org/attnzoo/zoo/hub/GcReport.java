package org.attnzoo.zoo.hub;

/**
 * Result of {@link ModelCache#gc()}.
 *
 * @param blobsRemoved unreferenced blobs deleted
 * @param tempRemoved  leftover partial downloads and temporary files/directories deleted
 * @param bytesFreed   bytes freed
 */
public record GcReport(int blobsRemoved, int tempRemoved, long bytesFreed) {
}
