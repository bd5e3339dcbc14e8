package org.attnzoo.sdk.nn;

import java.util.List;

/**
 * A checkpoint does not fit the graph: every missing key, unexpected key and shape mismatch is
 * listed at once, by key, before anything is written.
 */
public class WeightMismatchException extends RuntimeException {
    private final List<String> problems;

    public WeightMismatchException(String source, List<String> problems) {
        super(format(source, problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }

    private static String format(String source, List<String> problems) {
        StringBuilder b = new StringBuilder();
        b.append(source).append(": the checkpoint does not match the model (").append(problems.size())
                .append(problems.size() == 1 ? " problem)" : " problems)");
        int shown = 0;
        for (String p : problems) {
            if (shown++ == 50) {
                b.append("\n  ... and ").append(problems.size() - 50).append(" more");
                break;
            }
            b.append("\n  ").append(p);
        }
        return b.toString();
    }
}
