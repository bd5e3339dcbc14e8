package org.attnzoo.zoo.hub;

/**
 * Download progress callbacks. Files are fetched one at a time; every {@link #onStart} is followed
 * by {@link #onProgress} calls and exactly one {@link #onFinish}. All methods have no-op
 * defaults. Implementations must be cheap: {@code onProgress} is called for every buffer
 * (64 KiB).
 */
public interface ProgressListener {

    /** A listener that ignores everything. */
    ProgressListener NONE = new ProgressListener() {
    };

    /**
     * A transfer begins.
     *
     * @param label      what is being fetched, e.g. {@code convit_tiny.fb_in1k/model.safetensors}
     * @param bytesDone  bytes already present (a resumed {@code .part} file), usually 0
     * @param totalBytes total size, or -1 when unknown
     */
    default void onStart(String label, long bytesDone, long totalBytes) {
    }

    /**
     * More bytes arrived.
     *
     * @param bytesDone  bytes written so far, including resumed ones
     * @param totalBytes total size, or -1 when unknown
     */
    default void onProgress(long bytesDone, long totalBytes) {
    }

    /** The transfer that began with the last {@link #onStart} ended (successfully or not). */
    default void onFinish(boolean success) {
    }

    /**
     * A one-line status message: waiting for another process's download, resuming, retrying,
     * re-fetching a corrupted file.
     */
    default void onMessage(String message) {
    }
}
