package org.attnzoo.zoo.parity;

import org.attnzoo.converters.Checkpoints;
import org.attnzoo.converters.SafetensorsWriter;
import org.attnzoo.sdk.io.Npy;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.nn.WeightMismatchException;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;
import org.attnzoo.sdk.testing.Parity;
import org.attnzoo.zoo.arch.ModelBuilder;
import org.attnzoo.zoo.arch.ModelOutput;
import org.attnzoo.zoo.family.hornet.HorNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A backbone from a detection/segmentation checkpoint, as mmdetection saves one: the backbone's keys
 * under {@code backbone.} (with the per-output norms the authors' backbone class adds, trained),
 * neck and heads beside it, no classifier. HorNet's detection backbone normalises each output with
 * its own channels-first LayerNorm, so with trained (random) norm weights each map must equal the
 * identity-norm map scaled and shifted per channel — which checks that the norms are read.
 */
class DetectionCheckpointTest {
    static final String FIXTURE = "hornet_reduced";

    @TempDir
    Path tmp;

    private static HorNet arch() throws Exception {
        HorNet.Config cfg = ParityFixture.config(FIXTURE, HorNet.Config.class);
        return new HorNet(FIXTURE, cfg, Preprocessing.imagenet(cfg.imgSize(), 0.875, "bicubic"));
    }

    @Test
    void featuresConvertFromABackboneCheckpointAndReadItsOutputNorms() throws Exception {
        HorNet arch = arch();
        Path cls = ParityFixture.dir(FIXTURE).resolve("weights.safetensors");
        int[] channels = arch.backbone().stages().stream().mapToInt(s -> s.channels()).toArray();
        Random r = new Random(5);
        Map<String, TensorData> det = new LinkedHashMap<>();
        float[][] gamma = new float[channels.length][], beta = new float[channels.length][];
        try (StateDict sd = Checkpoints.open(cls)) {
            for (String k : sd.keys()) {
                if (k.startsWith("head.") || k.startsWith("norm.")) continue;      // no classifier, no final norm
                det.put("backbone." + k, new FloatTensor(sd.get(k).shape(), sd.get(k).toFloatArray()));
            }
        }
        for (int i = 0; i < channels.length; i++) {
            gamma[i] = new float[channels[i]];
            beta[i] = new float[channels[i]];
            for (int c = 0; c < channels[i]; c++) {
                gamma[i][c] = 0.5f + r.nextFloat();
                beta[i][c] = (float) r.nextGaussian() * 0.3f;
            }
            det.put("backbone.norm" + i + ".weight", new FloatTensor(new long[]{channels[i]}, gamma[i]));
            det.put("backbone.norm" + i + ".bias", new FloatTensor(new long[]{channels[i]}, beta[i]));
        }
        det.put("neck.lateral_convs.0.conv.weight", new FloatTensor(new long[]{4, channels[0], 1, 1}, new float[4 * channels[0]]));
        det.put("rpn_head.rpn_cls.bias", new FloatTensor(new long[]{3}, new float[3]));
        Path detFile = tmp.resolve("mask_rcnn_hornet.safetensors");
        SafetensorsWriter.write(detFile, det);

        NdArray x = Npy.read(ParityFixture.dir(FIXTURE).resolve("input.npy"));
        Map<String, NdArray> identity = BackboneFixture.run(arch, cls, ModelOutput.features(), tmp.resolve("a.onnx"), x);
        Map<String, NdArray> trained = BackboneFixture.run(arch, detFile, ModelOutput.features(), tmp.resolve("b.onnx"), x);
        for (int i = 0; i < channels.length; i++) {
            NdArray id = identity.get("features." + i), tr = trained.get("features." + i);
            assertThat(tr.shape()).containsExactly(id.shape());
            int c = channels[i], hw = (int) (id.shape()[2] * id.shape()[3]);
            float[] want = new float[id.data().length];
            for (int j = 0; j < want.length; j++) {
                int ch = (j / hw) % c;
                want[j] = gamma[i][ch] * id.data()[j] + beta[i][ch];
            }
            assertThat(Parity.relativeL2(tr.data(), want)).as("features.%d with the checkpoint's norm%d", i, i).isLessThan(1e-5);
        }
        // a subset of indices reads only its own norms; the others are not an error
        assertThat(BackboneFixture.run(arch, detFile, ModelOutput.features(2), tmp.resolve("c.onnx"), x)).containsOnlyKeys("features.2");

        // what the backbone checkpoint lacks is still an error where the graph needs it: the embedding reads the final norm
        try (StateDict sd = Checkpoints.open(detFile)) {
            assertThatThrownBy(() -> ModelBuilder.build(arch, sd, ModelOutput.embedding()))
                    .isInstanceOf(WeightMismatchException.class).hasMessageContaining("missing key norm.weight");
            assertThatThrownBy(() -> ModelBuilder.build(arch, sd)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("a detection/segmentation checkpoint").hasMessageContaining("--output features");
        }
    }
}
