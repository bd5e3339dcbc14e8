package org.attnzoo.zoo.parity;

import org.attnzoo.converters.Checkpoints;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.Architecture;
import org.attnzoo.zoo.arch.Architectures;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Full-size FAN models with random weights against the authors' code in float64. The fixtures are
 * too large for the repository (tens of MB); write them with
 * {@code tools/parity/fan.py --full NAME --full-out DIR} and run
 * {@code mvn -pl zoo -am test -Dtest=FanFullSizeParityTest -Dfan.full=DIR}: every fixture
 * directory under DIR (named by the registered model) is converted and compared.
 */
@EnabledIfSystemProperty(named = "fan.full", matches = ".+")
class FanFullSizeParityTest {
    @TempDir
    Path tmp;

    @Test
    void fullSizeModelsMatchTheAuthorsCode() throws Exception {
        Path root = Path.of(System.getProperty("fan.full"));
        List<Path> dirs;
        try (var s = Files.list(root)) {
            dirs = s.filter(d -> Files.exists(d.resolve("expected.npy"))).sorted().toList();
        }
        assertThat(dirs).as("fixtures under %s", root).isNotEmpty();
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            Architecture arch = Architectures.get(name);
            Path onnx = tmp.resolve(name + ".onnx");
            ModelBuilder.Built built;
            try (StateDict sd = Checkpoints.open(d.resolve("weights.safetensors"))) {
                built = ModelBuilder.build(arch, sd);
                OnnxModel.save(built.graph(), onnx);
            }
            long want = new com.fasterxml.jackson.databind.ObjectMapper().readTree(d.resolve("config.json").toFile()).get("parameters").asLong();
            assertThat(built.parameters()).as(name).isEqualTo(want);
            NdArray x = Npy.read(d.resolve("input.npy"));
            try (OnnxSession s = OnnxSession.open(onnx)) {
                double rel = Parity.assertParity(name, s.run(x), Npy.read(d.resolve("expected.npy")), 1e-4);
                System.out.printf("parity %s (full size): relative L2 %.2e (%d params)%n", name, rel, built.parameters());
            }
        }
    }
}
