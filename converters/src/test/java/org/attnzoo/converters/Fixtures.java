package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/** Access to the fixtures written by {@code checkpoints/make_fixtures.py} and their expected values. */
final class Fixtures {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
    private static JsonNode expected;

    private Fixtures() {
    }

    static Path dir() {
        try {
            return Path.of(Fixtures.class.getResource("/checkpoints/expected.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path file(String name) {
        Path p = dir().resolve(name);
        assertThat(p).exists();
        return p;
    }

    static synchronized JsonNode expected(String name) {
        if (expected == null) {
            try {
                expected = JSON.readTree(Files.readAllBytes(dir().resolve("expected.json")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        JsonNode n = expected.get(name);
        assertThat(n).as("expected.json entry " + name).isNotNull();
        return n;
    }

    /** Asserts {@code sd} holds exactly the tensors expected.json lists for {@code name}, in order, bit for bit. */
    static void assertMatches(StateDict sd, String name) {
        JsonNode tensors = expected(name).get("tensors");
        List<String> keys = new ArrayList<>();
        tensors.fieldNames().forEachRemaining(keys::add);
        assertThat(sd.keys()).containsExactlyInAnyOrderElementsOf(keys);
        for (Iterator<String> it = tensors.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            assertTensor(sd.get(k), tensors.get(k), name + ":" + k);
        }
    }

    static void assertTensor(TensorData t, JsonNode exp, String what) {
        assertThat(t).as(what).isNotNull();
        assertThat(t.dtype().name()).as(what + " dtype").isEqualTo(exp.get("dtype").asText());
        long[] shape = new long[exp.get("shape").size()];
        for (int i = 0; i < shape.length; i++) shape[i] = exp.get("shape").get(i).asLong();
        assertThat(t.shape()).as(what + " shape").containsExactly(shape);
        JsonNode vals = exp.get("values");
        assertThat(t.numel()).as(what + " numel").isEqualTo(vals.size());
        assertThat(t.rawBytes().remaining()).as(what + " byte count").isEqualTo(vals.size() * t.dtype().size);
        if (t.dtype().isFloating()) {
            double[] d = t.toDoubleArray();
            float[] f = t.toFloatArray();
            for (int i = 0; i < d.length; i++) {
                double e = vals.get(i).asDouble();
                // Double.compare distinguishes -0.0 from 0.0: the comparison is exact
                assertThat(Double.compare(d[i], e)).as(what + "[" + i + "] = " + d[i] + ", expected " + e).isZero();
                if (t.dtype() != DType.F64) {
                    assertThat(Double.compare(f[i], e)).as(what + "[" + i + "] as float").isZero();
                }
            }
        } else {
            long[] l = t.toLongArray();
            for (int i = 0; i < l.length; i++) {
                assertThat(l[i]).as(what + "[" + i + "]").isEqualTo(vals.get(i).asLong());
            }
        }
    }
}
