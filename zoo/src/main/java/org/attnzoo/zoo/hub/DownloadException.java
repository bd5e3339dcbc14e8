package org.attnzoo.zoo.hub;

import java.io.IOException;
import java.net.URI;

/**
 * A failed fetch. The message is a single line naming the URL, e.g.
 * {@code not found at https://...} or {@code timed out after 10s at https://...}.
 */
public class DownloadException extends IOException {

    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Kind {
        /** HTTP 404 or a missing {@code file:} path. */
        NOT_FOUND,
        /** Connect or read timeout. */
        TIMEOUT,
        /** Any other unexpected HTTP status. */
        HTTP_STATUS,
        /** Connection refused/reset/closed early, unknown host, and other transport failures. */
        CONNECTION,
        /** Downloaded bytes do not hash to the expected (registry or pinned) SHA-256. */
        CHECKSUM_MISMATCH,
        /** Downloaded size differs from the registry size. */
        SIZE_MISMATCH,
        /** Offline mode and the files are not cached. */
        OFFLINE,
        /** Another process held the download lock for longer than the lock timeout. */
        LOCK_TIMEOUT,
        /** Local I/O trouble (disk full, permissions, ...). */
        IO,
        /** Several sources failed; see {@link #getSuppressed()}. */
        ALL_SOURCES_FAILED
    }

    private final Kind kind;
    private final transient URI url;
    private final boolean retriable;

    public DownloadException(Kind kind, URI url, String message, boolean retriable, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.url = url;
        this.retriable = retriable;
    }

    public DownloadException(Kind kind, URI url, String message) {
        this(kind, url, message, false, null);
    }

    /** The failure category. */
    public Kind kind() {
        return kind;
    }

    /** The URL involved, or null. */
    public URI url() {
        return url;
    }

    /** Whether trying the same URL again (resuming) may help. */
    public boolean retriable() {
        return retriable;
    }
}
