package org.attnzoo.zoo.hub;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Ready-made {@link ProgressListener}s for command-line use (the bar needs the optional progress-bar library). */
public final class ProgressReporters {

    private ProgressReporters() {
    }

    /**
     * A redrawn progress bar on standard error when attached to a terminal
     * ({@code System.console() != null}), otherwise plain lines (logs, CI, pipes).
     */
    public static ProgressListener forConsole() {
        return System.console() != null && barAvailable() ? bar(System.err) : lines(System.err);
    }

    /**
     * Whether the progress-bar library is on the class path: the CLI jar bundles it; a project using
     * the zoo as a library does not inherit it (an optional dependency) and gets plain lines.
     */
    public static boolean barAvailable() {
        try {
            Class.forName("me.tongfei.progressbar.ProgressBar", false, ProgressReporters.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** A listener that prints nothing. */
    public static ProgressListener silent() {
        return ProgressListener.NONE;
    }

    /** A terminal progress bar (me.tongfei progressbar) written to {@code out}. */
    public static ProgressListener bar(PrintStream out) {
        if (!barAvailable()) {
            throw new IllegalStateException("no progress bar: me.tongfei:progressbar is not on the class path (use lines(...) or add the dependency)");
        }
        return new BarListener(out);
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

    private static final class BarListener implements ProgressListener {
        private final PrintStream out;
        private ProgressBar bar;

        BarListener(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void onStart(String label, long bytesDone, long totalBytes) {
            closeBar();
            ProgressBarBuilder b = new ProgressBarBuilder()
                    .setTaskName(label)
                    .setInitialMax(totalBytes)
                    .setUnit("MiB", 1024 * 1024)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    .setConsumer(new ConsoleProgressBarConsumer(out))
                    .setUpdateIntervalMillis(200)
                    .showSpeed();
            if (bytesDone > 0) {
                b.startsFrom(bytesDone, Duration.ZERO);
            }
            bar = b.build();
        }

        @Override
        public synchronized void onProgress(long bytesDone, long totalBytes) {
            if (bar != null) {
                if (totalBytes > 0 && bar.getMax() != totalBytes) {
                    bar.maxHint(totalBytes);
                }
                bar.stepTo(bytesDone);
            }
        }

        @Override
        public synchronized void onFinish(boolean success) {
            if (bar != null && !success) {
                bar.setExtraMessage("failed");
            }
            closeBar();
        }

        @Override
        public synchronized void onMessage(String message) {
            out.println(message);
        }

        private void closeBar() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
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
