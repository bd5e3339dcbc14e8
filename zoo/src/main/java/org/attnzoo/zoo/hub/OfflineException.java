package org.attnzoo.zoo.hub;

import java.util.List;

/**
 * Offline mode was on and some files were not in the cache. The message lists every missing file
 * with its URLs and how to get it.
 */
public final class OfflineException extends DownloadException {

    private static final long serialVersionUID = 1L;

    /** A file that would have needed the network. */
    public record Missing(String tag, String fileName, List<String> urls) {
    }

    private final transient List<Missing> missing;

    public OfflineException(String message, List<Missing> missing) {
        super(Kind.OFFLINE, null, message, false, null);
        this.missing = List.copyOf(missing);
    }

    /** The files that are not cached. */
    public List<Missing> missing() {
        return missing;
    }
}
