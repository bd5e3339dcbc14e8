package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.TensorData;

class SafetensorsWriterTest {

    @TempDir
    Path tmp;

    @Test
    void rewritesThePythonFileByteForByte() throws IOException {
        Path src = Fixtures.file("st_fp32.safetensors");
        Path out = tmp.resolve("copy.safetensors");
        try (SafetensorsReader r = SafetensorsReader.open(src)) {
            SafetensorsWriter.write(out, StateDicts.toMap(r), r.metadata());
        }
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(src));
    }

    @Test
    void roundTripsEveryDtype() {
        Path out = tmp.resolve("all.safetensors");
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file("st_all_dtypes.safetensors"))) {
            SafetensorsWriter.write(out, r);
        }
        try (SafetensorsReader r = SafetensorsReader.open(out)) {
            Fixtures.assertMatches(r, "st_all_dtypes.safetensors");
            assertThat(r.metadata()).isEmpty();
        }
    }

    @Test
    void headerIsPaddedToEightBytes() throws IOException {
        Path out = tmp.resolve("pad.safetensors");
        SafetensorsWriter.write(out, Map.of("x", new FloatTensor(new long[] {1}, new float[] {1f})));
        byte[] b = Files.readAllBytes(out);
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n % 8).isZero();
        assertThat(b.length).isEqualTo(8 + n + 4);
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTemporaries() throws IOException {
        Path out = tmp.resolve("model.safetensors");
        Files.writeString(out, "old contents");
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("b", new FloatTensor(new long[] {2}, new float[] {1f, 2f}));
        m.put("a", new FloatTensor(new long[] {1, 1}, new float[] {3f}));
        SafetensorsWriter.write(out, m, Map.of("k", "v"));
        try (SafetensorsReader r = SafetensorsReader.open(out)) {
            assertThat(r.keys()).containsExactly("b", "a");
            assertThat(r.get("b").toFloatArray()).containsExactly(1f, 2f);
            assertThat(r.get("a").shape()).containsExactly(1, 1);
            assertThat(r.metadata()).containsExactly(Map.entry("k", "v"));
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("model.safetensors");
        }
    }

    @Test
    void failedWriteKeepsTheOldFile() throws IOException {
        Path out = tmp.resolve("keep.safetensors");
        Files.writeString(out, "old");
        TensorData wrongSize = new TensorData() {
            public DType dtype() {
                return DType.F32;
            }

            public long[] shape() {
                return new long[] {4};
            }

            public ByteBuffer rawBytes() {
                return ByteBuffer.allocate(8);
            }
        };
        assertThatThrownBy(() -> SafetensorsWriter.write(out, Map.of("w", wrongSize)))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'w'")
                .hasMessageContaining("expected 16 bytes");
        assertThat(Files.readString(out)).isEqualTo("old");
        try (Stream<Path> files = Files.list(tmp)) {
            assertThat(files.toList()).hasSize(1);
        }
    }

    @Test
    void metadataKeyIsReserved() {
        assertThatThrownBy(() -> SafetensorsWriter.write(tmp.resolve("x.safetensors"),
                Map.of("__metadata__", new FloatTensor(new long[] {1}, new float[] {1f}))))
                .hasMessageContaining("reserved");
    }

    @Test
    void emptyAndScalarTensors() {
        Path out = tmp.resolve("e.safetensors");
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("empty", new FloatTensor(new long[] {0, 3}, new float[0]));
        m.put("scalar", new FloatTensor(new long[0], new float[] {7f}));
        SafetensorsWriter.write(out, m);
        try (SafetensorsReader r = SafetensorsReader.open(out)) {
            assertThat(r.get("empty").shape()).containsExactly(0, 3);
            assertThat(r.get("scalar").toFloatArray()).containsExactly(7f);
            assertThat(List.copyOf(r.keys())).containsExactly("empty", "scalar");
        }
    }
}
