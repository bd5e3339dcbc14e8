package org.attnzoo.zoo.cli;

import org.attnzoo.zoo.hub.ProgressListener;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class TerminalProgressTest {
    @Test
    void barWritesSomethingAndClosesCleanly() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressListener l = TerminalProgress.bar(new PrintStream(buf, true, StandardCharsets.UTF_8));
        l.onStart("x", 0, 10 << 20);
        l.onProgress(5 << 20, 10 << 20);
        l.onFinish(true);
        assertThat(buf.toString(StandardCharsets.UTF_8)).contains("x");
        assertThat(TerminalProgress.forConsole()).isNotNull();
    }
}
