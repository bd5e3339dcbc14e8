package org.attnzoo.zoo.cli;

import org.attnzoo.zoo.hub.ModelEntry;
import org.attnzoo.zoo.hub.Registry;
import org.attnzoo.zoo.hub.RegistryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A registry entry's license_notice (FAN's NVIDIA non-commercial licence in the shipped registry):
 * {@code info} shows it, {@code pull} and {@code run} print it on stderr before anything is
 * fetched; entries without one print nothing; a blank or multi-line notice is rejected.
 */
class LicenseNoticeTest {
    @TempDir
    Path home;

    CliTest.Run cli(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--home";
        all[args.length + 1] = home.toString();
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(all, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliTest.Run(code, out.toString(), err.toString());
    }

    @Test
    void infoShowsTheNoticeAndPullAndRunPrintItFirst() {
        String notice = Registry.bundled().model("fan_tiny_12_p16_224").licenseNotice();
        assertThat(notice).contains("non-commercial");
        assertThat(cli("info", "fan_tiny_12_p16_224").out()).contains("licence notice: " + notice);

        CliTest.Run pull = cli("pull", "fan_tiny_12_p16_224", "--offline");
        assertThat(pull.code()).isEqualTo(1);
        assertThat(pull.err()).startsWith("attnzoo: fan_tiny_12_p16_224: " + notice + System.lineSeparator()).contains("offline");

        CliTest.Run run = cli("run", "fan_tiny_12_p16_224", "--image", "../samples/images/none.png", "--offline");
        assertThat(run.err()).startsWith("attnzoo: fan_tiny_12_p16_224: " + notice);
    }

    @Test
    void modelsWithoutANoticePrintNone() {
        assertThat(Registry.bundled().model("convit_tiny").licenseNotice()).isNull();
        assertThat(cli("info", "convit_tiny").out()).doesNotContain("licence notice");
        assertThat(cli("pull", "convit_tiny", "--offline").err()).doesNotContain("attnzoo: convit_tiny:");
    }

    @Test
    void aBlankOrMultiLineNoticeIsRejected() {
        ModelEntry e = Registry.bundled().model("fan_tiny_12_p16_224");
        for (String bad : new String[]{" ", "line one\nline two"}) {
            ModelEntry m = new ModelEntry(e.name(), e.family(), e.variant(), e.paper(), e.codeLicense(), e.reportedTop1(), e.parity(),
                    e.preprocessing(), e.labels(), e.weights(), bad);
            assertThatThrownBy(() -> Registry.of(List.of(m), "test")).isInstanceOf(RegistryException.class)
                    .hasMessageContaining("license_notice");
        }
    }
}
