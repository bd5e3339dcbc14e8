package org.attnzoo.zoo.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressReportersTest {

    @Test
    void plainLinesEveryTenPercent() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressListener l = ProgressReporters.lines(new PrintStream(buf, true, StandardCharsets.UTF_8));
        l.onStart("m.t/model.safetensors", 0, 1000);
        for (long i = 0; i <= 1000; i += 25) {
            l.onProgress(i, 1000);
        }
        l.onFinish(true);
        l.onMessage("hello");
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out).startsWith("downloading m.t/model.safetensors (1000 B)\n");
        assertThat(out.lines().filter(s -> s.contains("%"))).hasSize(9);
        assertThat(out).contains("  m.t/model.safetensors: 50% (500 B of 1000 B)");
        assertThat(out).contains("done m.t/model.safetensors: 1000 B in");
        assertThat(out).endsWith("hello\n");
    }

    @Test
    void plainLinesWithUnknownSizeAndResume() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressListener l = new ProgressReporters.LineListener(new PrintStream(buf, true, StandardCharsets.UTF_8), Duration.ZERO);
        l.onStart("x", 2048, -1);
        l.onProgress(4096, -1);
        l.onFinish(false);
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("downloading x (size unknown, resuming at 2.0 KiB)");
        assertThat(out).contains("  x: 4.0 KiB");
        assertThat(out).contains("failed x: 4.0 KiB");
    }

    @Test
    void humanBytes() {
        assertThat(ProgressReporters.humanBytes(-1)).isEqualTo("?");
        assertThat(ProgressReporters.humanBytes(1023)).isEqualTo("1023 B");
        assertThat(ProgressReporters.humanBytes(1536)).isEqualTo("1.5 KiB");
        assertThat(ProgressReporters.humanBytes(350L << 20)).isEqualTo("350.0 MiB");
    }
}
