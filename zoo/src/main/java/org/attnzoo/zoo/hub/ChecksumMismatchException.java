package org.attnzoo.zoo.hub;

import java.net.URI;

/**
 * Downloaded (or cached) bytes whose SHA-256 differs from the expected one. Nothing of the
 * download is left in the cache when this is thrown.
 */
public final class ChecksumMismatchException extends DownloadException {

    private static final long serialVersionUID = 1L;

    private final String expected;
    private final String actual;
    private final boolean pinned;

    public ChecksumMismatchException(URI url, String fileName, String expected, String actual, boolean pinned) {
        super(Kind.CHECKSUM_MISMATCH, url, "sha256 mismatch for " + fileName + " from " + url + ": expected "
                + expected + (pinned ? " (pinned at first download)" : " (registry)") + ", got " + actual
                + (pinned ? "; the upstream file changed or was corrupted in transit - if the change is legitimate,"
                        + " remove the pin with ModelCache.unpin(\"" + url + "\")" : ""), false, null);
        this.expected = expected;
        this.actual = actual;
        this.pinned = pinned;
    }

    /** The expected hash. */
    public String expected() {
        return expected;
    }

    /** The hash of the bytes received. */
    public String actual() {
        return actual;
    }

    /** True when the expected hash came from {@code pins.json} rather than the registry. */
    public boolean pinned() {
        return pinned;
    }
}
