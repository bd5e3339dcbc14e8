package org.attnzoo.zoo.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.attnzoo.zoo.hub.ProgressListener;
import org.attnzoo.zoo.hub.ProgressReporters;

import java.io.PrintStream;
import java.time.Duration;

/**
 * The command line's download progress: a redrawn bar (me.tongfei progressbar, bundled in the CLI
 * jar) when standard error is a terminal, plain lines otherwise (logs, CI, pipes).
 */
final class TerminalProgress {
    private TerminalProgress() {
    }

    static ProgressListener forConsole() {
        return System.console() != null ? bar(System.err) : ProgressReporters.lines(System.err);
    }

    /** A terminal progress bar written to {@code out}. */
    static ProgressListener bar(PrintStream out) {
        return new Bar(out);
    }

    private static final class Bar implements ProgressListener {
        private final PrintStream out;
        private ProgressBar bar;

        Bar(PrintStream out) {
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
}
