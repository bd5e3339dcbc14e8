package org.attnzoo.zoo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.attnzoo.sdk.model.Preprocessing;
import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.zoo.hub.ModelHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipped model reproduces its recorded held-out accuracy through the Java API. */
class DigitsModelTest {
    static final String RES = "/org/attnzoo/zoo/models/convit_digits/";

    @TempDir
    Path home;

    @Test
    void heldOutAccuracyIsReproduced() throws Exception {
        JsonNode cfg;
        try (InputStream in = getClass().getResourceAsStream(RES + "config.json")) {
            cfg = new ObjectMapper().readTree(in);
        }
        byte[] x = npyBody(RES + "heldout_x.npy");
        byte[] ybytes = npyBody(RES + "heldout_y.npy");
        int n = ybytes.length / 8;
        assertThat(n).isEqualTo(cfg.get("heldout_size").asInt());
        ByteBuffer yb = ByteBuffer.wrap(ybytes).order(ByteOrder.LITTLE_ENDIAN);
        try (AttnZoo zoo = AttnZoo.of(ModelHub.builder().cacheRoot(home).offline(true).build());
             ImageClassifier c = zoo.classifier("convit_digits", Device.cpu())) {
            Preprocessing p = AttnZoo.preprocessing(c.card());
            int hw = 32 * 32;
            float[] batch = new float[n * 3 * hw];
            for (int i = 0; i < n; i++) {
                for (int ch = 0; ch < 3; ch++) {
                    for (int k = 0; k < hw; k++) {
                        double v = (x[i * hw + k] & 0xff) / 255.0;
                        batch[(i * 3 + ch) * hw + k] = (float) ((v - p.mean()[ch]) / p.std()[ch]);
                    }
                }
            }
            List<List<Prediction>> top = c.topK(c.logits(new NdArray(batch, new long[]{n, 3, 32, 32})), 1);
            int correct = 0;
            for (int i = 0; i < n; i++) if (top.get(i).get(0).index() == yb.getLong(8 * i)) correct++;
            double acc = (double) correct / n;
            System.out.printf("convit_digits held-out accuracy %.4f (%d/%d); recorded %.4f%n", acc, correct, n, cfg.get("heldout_accuracy").asDouble());
            assertThat(acc).isEqualTo(cfg.get("heldout_accuracy").asDouble(), org.assertj.core.api.Assertions.within(1.0 / n + 1e-9));
        }
    }

    /** The data bytes of a small .npy resource (header skipped). */
    static byte[] npyBody(String res) throws Exception {
        try (InputStream in = DigitsModelTest.class.getResourceAsStream(res)) {
            byte[] all = in.readAllBytes();
            int hl = (all[8] & 0xff) | (all[9] & 0xff) << 8;
            return java.util.Arrays.copyOfRange(all, 10 + hl, all.length);
        }
    }
}
