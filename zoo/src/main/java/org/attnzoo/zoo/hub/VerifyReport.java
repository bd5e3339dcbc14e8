package org.attnzoo.zoo.hub;

import java.nio.file.Path;
import java.util.List;

/**
 * Result of {@link ModelCache#verify()}.
 *
 * @param blobsChecked number of blobs re-hashed
 * @param bytesChecked bytes re-hashed
 * @param problems     what is wrong (empty when all is well)
 */
public record VerifyReport(int blobsChecked, long bytesChecked, List<Problem> problems) {

    /** Kinds of problem. */
    public enum Kind {
        /** A blob whose content does not hash to its name (or to its pin). */
        CORRUPT,
        /** An index entry whose blob is gone. */
        MISSING
    }

    /**
     * One problem.
     *
     * @param kind       what
     * @param path       the blob path
     * @param expected   the expected hash
     * @param actual     the hash found (null for MISSING)
     * @param references {@code tag/file} entries pointing at this blob
     * @param removed    true when {@code verify(true)} deleted the corrupt blob
     */
    public record Problem(Kind kind, Path path, String expected, String actual, List<String> references, boolean removed) {
        @Override
        public String toString() {
            return kind + " " + path + (references.isEmpty() ? "" : " (" + String.join(", ", references) + ")")
                    + (actual == null ? "" : ": expected " + expected + ", got " + actual) + (removed ? " [removed]" : "");
        }
    }

    public VerifyReport {
        problems = List.copyOf(problems);
    }

    /** True when nothing is wrong. */
    public boolean ok() {
        return problems.isEmpty();
    }
}
