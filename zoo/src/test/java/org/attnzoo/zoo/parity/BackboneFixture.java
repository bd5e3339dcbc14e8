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
import org.attnzoo.zoo.arch.Backbone;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A parity fixture's backbone outputs (features_N.npy, embedding.npy, backbone.json, written by
 * tools/parity/backbone_*.py and the family generators from the upstream module in float64 on the
 * fixture's own weights and input): our embedding graph and our feature graph (every stage, one
 * output each) against them, relative L2 < 1e-4 per output and the same shape.
 */
final class BackboneFixture {
    private BackboneFixture() {
    }

    /** Checks every output the fixture holds; returns the worst relative L2 error. */
    static double check(String what, Architecture arch, Path checkpoint, String fixture, Path tmp) throws Exception {
        Path dir = ParityFixture.dir(fixture);
        JsonNode outs = new ObjectMapper().readTree(dir.resolve("backbone.json").toFile()).get("outputs");
        NdArray x = Npy.read(dir.resolve("input.npy"));
        Backbone bb = arch.backbone();
        assertThat(bb).as("%s declares a backbone", what).isNotNull();
        double worst = 0;
        if (outs.has("embedding")) {
            Map<String, NdArray> got = run(arch, checkpoint, ModelOutput.embedding(), tmp.resolve("embedding.onnx"), x);
            assertThat(got).containsOnlyKeys(ModelOutput.EMBEDDING_NAME);
            worst = Math.max(worst, compare(what + " embedding", got.get(ModelOutput.EMBEDDING_NAME), Npy.read(dir.resolve("embedding.npy"))));
        }
        List<Integer> indices = new ArrayList<>();
        outs.fieldNames().forEachRemaining(n -> {
            if (n.startsWith("features_")) indices.add(Integer.parseInt(n.substring("features_".length())));
        });
        if (!indices.isEmpty()) {
            assertThat(indices).as("%s: the fixture holds every stage the family declares", what).hasSize(bb.stages().size());
            Map<String, NdArray> got = run(arch, checkpoint, ModelOutput.features(), tmp.resolve("features.onnx"), x);
            assertThat(got.keySet()).as("%s feature outputs", what)
                    .containsExactlyElementsOf(indices.stream().sorted().map(i -> ModelOutput.FEATURE_PREFIX + i).toList());
            for (int i : indices) {
                NdArray want = Npy.read(dir.resolve("features_" + i + ".npy"));
                assertThat(want.shape()[1]).as("%s features.%d channels", what, i).isEqualTo(bb.stages().get(i).channels());
                worst = Math.max(worst, compare(what + " features." + i, got.get(ModelOutput.FEATURE_PREFIX + i), want));
            }
        }
        return worst;
    }

    /**
     * {@code arch.atSize(size, size)} against input_s&lt;size&gt;.npy / expected_s&lt;size&gt;.npy (the upstream
     * model built for that size on the same weights): relative L2 < 1e-4 and the same top-5.
     */
    static double checkAtSize(String what, Architecture arch, Path checkpoint, String fixture, Path tmp, int size) throws Exception {
        Path dir = ParityFixture.dir(fixture);
        Architecture resized = arch.atSize(size, size);
        assertThat(resized.inputSize()).containsExactly(arch.inputSize()[0], size, size);
        Path onnx = tmp.resolve("resized.onnx");
        try (StateDict sd = Checkpoints.open(checkpoint)) {
            OnnxModel.save(ModelBuilder.build(resized, sd).graph(), onnx);
        }
        try (OnnxSession s = OnnxSession.open(onnx)) {
            double rel = Parity.assertParity(what + " at " + size, s.run(Npy.read(dir.resolve("input_s" + size + ".npy"))),
                    Npy.read(dir.resolve("expected_s" + size + ".npy")), 1e-4);
            System.out.printf("parity %s at %dx%d: relative L2 %.2e%n", what, size, size, rel);
            return rel;
        }
    }

    static Map<String, NdArray> run(Architecture arch, Path checkpoint, ModelOutput out, Path onnx, NdArray x) throws Exception {
        try (StateDict sd = Checkpoints.open(checkpoint)) {
            OnnxModel.save(ModelBuilder.build(arch, sd, out).graph(), onnx);
        }
        OnnxChecker.check(onnx);
        try (OnnxSession s = OnnxSession.open(onnx)) {
            return s.run(Map.of(ModelBuilder.INPUT, x));
        } finally {
            Files.deleteIfExists(onnx);
        }
    }

    private static double compare(String what, NdArray got, NdArray want) {
        assertThat(got.shape()).as("%s shape", what).containsExactly(want.shape());
        double rel = Parity.relativeL2(got.data(), want.data());
        assertThat(rel).as("%s: relative L2 error", what).isLessThan(1e-4);
        System.out.printf("parity %s: relative L2 %.2e%n", what, rel);
        return rel;
    }
}
