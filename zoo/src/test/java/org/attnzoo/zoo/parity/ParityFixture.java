package org.attnzoo.zoo.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.OnnxChecker;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.ModelBuilder;

import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One parity fixture directory as written by tools/parity/*.py: config.json (upstream kwargs, our
 * Config fields under "config", upstream "parameters"), a checkpoint, input.npy and expected.npy
 * (the upstream model's float64 output).
 */
final class ParityFixture {
    static final Path ROOT = Path.of("src/test/resources/parity");
    private static final ObjectMapper JSON = new ObjectMapper();

    private ParityFixture() {
    }

    static Path dir(String fixture) {
        return ROOT.resolve(fixture);
    }

    static JsonNode meta(String fixture) throws IOException {
        return JSON.readTree(dir(fixture).resolve("config.json").toFile());
    }

    /** The fixture's "config" object as a family's Config record. */
    static <C> C config(String fixture, Class<C> type) throws IOException {
        return JSON.treeToValue(meta(fixture).get("config"), type);
    }

    /**
     * Converts {@code checkpoint} with {@code arch}, checks the parameter count (when
     * {@code expectedParams >= 0}), runs the ONNX checker, then ONNX Runtime on input.npy against
     * expected.npy: relative L2 < 1e-4 and the same top-5. Returns the relative L2 error.
     */
    static double check(String what, Architecture arch, Path checkpoint, String fixture, Path tmp, long expectedParams) throws Exception {
        Path onnx = tmp.resolve("model.onnx");
        ModelBuilder.Built built;
        try (StateDict sd = Checkpoints.open(checkpoint)) {
            built = ModelBuilder.build(arch, sd);
            OnnxModel.save(built.graph(), onnx); // initializers are views of the open checkpoint
        }
        if (expectedParams >= 0) assertThat(built.parameters()).as("%s parameters", what).isEqualTo(expectedParams);
        OnnxChecker.check(onnx);
        NdArray x = Npy.read(dir(fixture).resolve("input.npy"));
        NdArray want = Npy.read(dir(fixture).resolve("expected.npy"));
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(what, s.run(x), want, 1e-4);
            System.out.printf("parity %s: relative L2 %.2e (%d params)%n", what, rel, built.parameters());
            return rel;
        }
    }
}
