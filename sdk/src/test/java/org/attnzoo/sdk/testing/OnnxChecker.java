package org.attnzoo.sdk.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the reference ONNX checker ({@code onnx.checker.check_model(path, full_check=True)} from
 * Debian's python3-onnx) on a model file. Skips when the package is absent, unless
 * {@code ATTNZOO_REQUIRE_ONNX_CHECKER=1} (set by CI), where its absence fails the test.
 */
public final class OnnxChecker {
    private static final String PYTHON = "/usr/bin/python3";
    private static Boolean available;

    private OnnxChecker() {
    }

    public static synchronized boolean available() {
        if (available == null) {
            available = run(PYTHON, "-c", "import onnx") == 0;
        }
        return available;
    }

    public static void check(Path model) {
        boolean required = "1".equals(System.getenv("ATTNZOO_REQUIRE_ONNX_CHECKER"));
        if (!available()) {
            if (required) throw new AssertionError("python3-onnx is required (ATTNZOO_REQUIRE_ONNX_CHECKER=1) but not importable");
            assumeTrue(false, "python3-onnx not installed; ONNX checker skipped");
        }
        String script = "import onnx, sys\n"
                + "m = onnx.load(sys.argv[1])\n"
                + "assert m.ir_version == 8, m.ir_version\n"
                + "assert all(o.version <= 17 for o in m.opset_import if o.domain in ('', 'ai.onnx')), m.opset_import\n"
                + "onnx.checker.check_model(sys.argv[1], full_check=True)\n"
                + "print('ok')\n";
        StringBuilder out = new StringBuilder();
        int rc = run(out, PYTHON, "-c", script, model.toAbsolutePath().toString());
        assertThat(rc).as("onnx.checker on %s:%n%s", model, out).isZero();
    }

    private static int run(String... cmd) {
        return run(new StringBuilder(), cmd);
    }

    private static int run(StringBuilder out, String... cmd) {
        if (!Files.isExecutable(Path.of(cmd[0]))) return 127;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] bytes = p.getInputStream().readAllBytes();
            out.append(new String(bytes, StandardCharsets.UTF_8));
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return 124;
            }
            return p.exitValue();
        } catch (IOException e) {
            out.append(e);
            return 126;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }
}
