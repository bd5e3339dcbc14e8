package org.attnzoo.zoo.hub;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/** Ready-made {@link ProgressListener}s: silence, or plain lines for logs and consoles. */
public final class ProgressReporters {

    private ProgressReporters() {
    }

    /**
     * Progress for a library user's console: plain lines on standard error (one at the start, at
     * every 10 % and at the end). The command line's redrawn terminal bar lives with the CLI.
     */
    public static ProgressListener forConsole() {
        return lines(System.err);
    }

    /** A listener that prints nothing. */
    public static ProgressListener silent() {
        return ProgressListener.NONE;
    }

    /**
     * Plain lines, suitable for logs: one at the start, one at every 10% (or every 10 s when the
     * size is unknown) and one at the end. Messages are printed as they come.
     */
    public static ProgressListener lines(PrintStream out) {
        return new LineListener(out, Duration.ofSeconds(10));
    }

    /** {@code 12.3 MiB}-style byte counts. */
    public static String humanBytes(long bytes) {
        if (bytes < 0) {
            return "?";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static final class LineListener implements ProgressListener {
        private final PrintStream out;
        private final Duration every;
        private String label;
        private long nextPercent;
        private long lastPrint;
        private long started;
        private long startBytes;
        private long done;
        private long total;

        LineListener(PrintStream out, Duration every) {
            this.out = out;
            this.every = every;
        }

        @Override
        public synchronized void onStart(String label, long bytesDone, long totalBytes) {
            this.label = label;
            this.total = totalBytes;
            this.done = bytesDone;
            this.startBytes = bytesDone;
            this.started = System.nanoTime();
            this.lastPrint = started;
            this.nextPercent = totalBytes > 0 ? (bytesDone * 100 / totalBytes) / 10 * 10 + 10 : 0;
            out.println("downloading " + label + " (" + (totalBytes >= 0 ? humanBytes(totalBytes) : "size unknown")
                    + (bytesDone > 0 ? ", resuming at " + humanBytes(bytesDone) : "") + ")");
        }

        @Override
        public synchronized void onProgress(long bytesDone, long totalBytes) {
            done = bytesDone;
            total = totalBytes;
            long now = System.nanoTime();
            if (totalBytes > 0) {
                long pct = bytesDone * 100 / totalBytes;
                if (pct >= nextPercent && pct < 100) {
                    out.println("  " + label + ": " + pct + "% (" + humanBytes(bytesDone) + " of " + humanBytes(totalBytes) + ")");
                    nextPercent = pct / 10 * 10 + 10;
                    lastPrint = now;
                }
            } else if (now - lastPrint >= every.toNanos()) {
                out.println("  " + label + ": " + humanBytes(bytesDone));
                lastPrint = now;
            }
        }

        @Override
        public synchronized void onFinish(boolean success) {
            if (label == null) {
                return;
            }
            double secs = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
            out.println((success ? "done " : "failed ") + label + ": " + humanBytes(done)
                    + (success ? String.format(Locale.ROOT, " in %.1f s (%s/s)", secs, humanBytes((long) ((done - startBytes) / secs))) : ""));
            label = null;
        }

        @Override
        public synchronized void onMessage(String message) {
            out.println(message);
        }
    }
}
