package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.TensorData;

class SafetensorsReaderTest {

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"st_fp32.safetensors", "st_fp16.safetensors", "st_bf16.safetensors", "st_all_dtypes.safetensors"})
    void readsExactValues(String name) {
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file(name))) {
            Fixtures.assertMatches(r, name);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"st_fp32.safetensors", "st_fp16.safetensors", "st_bf16.safetensors", "st_all_dtypes.safetensors"})
    void perTensorMappingGivesTheSameValues(String name) {
        // the path taken for files over 2 GiB: no whole-file map, one map per tensor
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file(name), 0)) {
            Fixtures.assertMatches(r, name);
        }
    }

    @Test
    void keysInHeaderOrderAndMetadata() {
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file("st_fp32.safetensors"))) {
            assertThat(r.keys()).containsExactly("a.weight", "a.bias", "scalar", "empty");
            assertThat(r.metadata()).containsEntry("format", "pt").containsEntry("note", "attnzoo fixture").hasSize(2);
            assertThat(r.source()).endsWith("st_fp32.safetensors");
            TensorData scalar = r.get("scalar");
            assertThat(scalar.shape()).isEmpty();
            assertThat(scalar.toFloatArray()).containsExactly(2.5f);
            assertThat(r.get("empty").shape()).containsExactly(0, 3);
            assertThat(r.get("empty").toFloatArray()).isEmpty();
            assertThat(r.get("missing")).isNull();
            ByteBuffer b = r.get("a.weight").rawBytes();
            assertThat(b.isReadOnly()).isTrue();
            assertThat(b.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(b.remaining()).isEqualTo(48);
        }
    }

    @Test
    void halfAndBfloatSpecialsUpcastExactly() {
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file("st_fp16.safetensors"))) {
            float[] w = r.get("w").toFloatArray();
            assertThat(Float.floatToIntBits(w[1])).isEqualTo(Float.floatToIntBits(-0.0f));
            assertThat(w[4]).isEqualTo(65504f);
            assertThat(w[5]).isEqualTo(0x1p-24f); // smallest subnormal half
            assertThat(w[7]).isEqualTo(Float.POSITIVE_INFINITY);
            assertThat(w[9]).isEqualTo(0.0999755859375f); // 0.1 rounded to half
        }
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file("st_bf16.safetensors"))) {
            float[] w = r.get("w").toFloatArray();
            assertThat(w[5]).isEqualTo(0x1p-133f); // subnormal bfloat16
            assertThat(w[9]).isEqualTo(0.10009765625f); // 0.1 rounded to bfloat16
        }
    }

    @Test
    void truncatedFileNamesFileAndKey() {
        Path p = Fixtures.file("st_truncated.safetensors");
        assertThatThrownBy(() -> SafetensorsReader.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining("'a.bias'")
                .hasMessageContaining("truncated")
                .hasMessageContaining("expected a data section of at least 64 bytes, got 58 bytes")
                .satisfies(e -> assertThat(((CheckpointException) e).key()).isEqualTo("a.bias"));
    }

    @Test
    void headerLengthPastEndOfFile() throws IOException {
        Path p = tmp.resolve("big_header.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}          ".getBytes());
        Files.write(p, b.array());
        assertThatThrownBy(() -> SafetensorsReader.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining("header length 1000")
                .hasMessageContaining("expected at most 12 header bytes, got a file of 20 bytes");
    }

    @Test
    void negativeHeaderLength() throws IOException {
        Path p = tmp.resolve("neg.safetensors");
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        assertThatThrownBy(() -> SafetensorsReader.open(p)).hasMessageContaining("header length 18446744073709551615");
    }

    @Test
    void tooShort() throws IOException {
        Path p = tmp.resolve("short.safetensors");
        Files.write(p, new byte[3]);
        assertThatThrownBy(() -> SafetensorsReader.open(p))
                .hasMessageContaining("expected at least 8 bytes, got 3 bytes");
    }

    @Test
    void offsetsThatDoNotMatchShape() throws IOException {
        Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16);
        assertThatThrownBy(() -> SafetensorsReader.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining("tensor 'x'")
                .hasMessageContaining("expected 16 bytes (float32[2, 2]), got 12 bytes");
    }

    @Test
    void unknownDtype() throws IOException {
        Path p = raw("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        assertThatThrownBy(() -> SafetensorsReader.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(p.toString())
                .hasMessageContaining("tensor 'x'")
                .hasMessageContaining("unsupported dtype 'F8_E4M3'")
                .hasMessageContaining("BF16");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path p = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertThatThrownBy(() -> SafetensorsReader.open(p))
                .hasMessageContaining("tensor 'b'")
                .hasMessageContaining("overlap tensor 'a'");
    }

    @Test
    void malformedHeaders() throws IOException {
        assertThatThrownBy(() -> SafetensorsReader.open(raw("{\"x\": [", 0))).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> SafetensorsReader.open(raw("[1, 2]", 0)))
                .hasMessageContaining("header: expected a JSON object, got array");
        assertThatThrownBy(() -> SafetensorsReader.open(raw(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)))
                .hasMessageContaining("Duplicate field 'x'");
        assertThatThrownBy(() -> SafetensorsReader.open(raw(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)))
                .hasMessageContaining("tensor 'x'").hasMessageContaining("non-negative integer dimensions");
        assertThatThrownBy(() -> SafetensorsReader.open(raw(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)))
                .hasMessageContaining("tensor 'x'").hasMessageContaining("data_offsets");
        assertThatThrownBy(() -> SafetensorsReader.open(raw(
                "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8)))
                .hasMessageContaining("0 <= begin <= end");
        assertThatThrownBy(() -> SafetensorsReader.open(raw("{\"__metadata__\":{\"a\":1}}", 0)))
                .hasMessageContaining("__metadata__ entry 'a'");
    }

    @Test
    void toleratesGapsAndTrailingBytes() throws IOException {
        Path p = raw("{\"x\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[4,6]}}", 10);
        try (SafetensorsReader r = SafetensorsReader.open(p)) {
            assertThat(r.get("x").toLongArray()).containsExactly(0);
        }
    }

    @Test
    void closedReaderRefusesReads() {
        SafetensorsReader r = SafetensorsReader.open(Fixtures.file("st_fp32.safetensors"));
        TensorData t = r.get("a.bias");
        r.close();
        assertThatThrownBy(() -> r.get("a.bias")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(t::rawBytes).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void missingFile() {
        Path p = tmp.resolve("nope.safetensors");
        assertThatThrownBy(() -> SafetensorsReader.open(p)).isInstanceOf(CheckpointException.class)
                .hasMessage(p + ": no such file");
    }

    @Test
    void allDtypesKeepTheirType() {
        try (SafetensorsReader r = SafetensorsReader.open(Fixtures.file("st_all_dtypes.safetensors"))) {
            assertThat(r.keys().stream().map(k -> r.get(k).dtype()).toList())
                    .containsExactly(DType.F64, DType.I64, DType.I32, DType.I16, DType.I8, DType.U8, DType.BOOL);
            assertThat(r.get("i64").toLongArray()).containsExactly(1L << 40, -1, 0);
            assertThat(r.get("u8").toLongArray()).containsExactly(0, 255, 7);
            assertThat(r.get("f64").toDoubleArray()).containsExactly(0.1, -1e300, Double.MIN_VALUE);
        }
    }

    /** A safetensors file with {@code header} (padded) and {@code dataBytes} zero data bytes. */
    private Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = tmp.resolve("f" + Arrays.hashCode(b.array()) + "_" + dataBytes + ".safetensors");
        Files.write(p, b.array());
        return p;
    }
}
