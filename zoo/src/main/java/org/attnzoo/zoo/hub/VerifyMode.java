package org.attnzoo.zoo.hub;

/** How much a fetch checks a file that is already cached. */
public enum VerifyMode {
    /**
     * Re-hash only when the blob's size or modification time differs from what was recorded
     * when it was last verified (like git's stat check). Cheap; catches any normal overwrite or
     * truncation but not silent bit rot ({@link ModelCache#verify()} catches that).
     */
    QUICK,
    /** Re-hash the whole file on every fetch. */
    FULL
}
