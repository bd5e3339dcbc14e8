package org.attnzoo.converters;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of JSON
 * header ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"k": "v"}}}), then the data section the offsets index into.
 *
 * <p>The file is memory-mapped: files up to 2 GiB are mapped once; larger files are mapped one
 * tensor at a time when a tensor's bytes are first asked for. Tensors are lazy: {@link #get}
 * touches no data, {@link TensorData#rawBytes()} returns a read-only little-endian view of the
 * mapping.
 *
 * <p>Everything in the header is checked when the file is opened, and any problem is a
 * {@link CheckpointException} naming the file, the key, and what was expected versus found: a
 * header length past the end of the file, a header that is not a JSON object, duplicate keys, an
 * unsupported dtype, a negative dimension, data_offsets that do not span shape &times; dtype size,
 * data_offsets past the end of the file (a truncated download) and tensors whose byte ranges
 * overlap. Unused gaps between tensors and trailing bytes are tolerated.
 *
 * <p>Supported dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL (the {@link DType} names).
 */
public final class SafetensorsReader implements StateDict {

    /** Largest header accepted (the reference implementation uses the same bound). */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final String source;
    private final FileChannel channel;
    private final long dataStart;
    /** Whole-file mapping, or null when the file is larger than the whole-map limit. */
    private final MappedByteBuffer whole;
    private final Map<String, String> metadata;
    private final Map<String, Entry> entries;
    private volatile boolean closed;

    private SafetensorsReader(Path path, FileChannel channel, long dataStart, MappedByteBuffer whole,
                              Map<String, String> metadata, Map<String, Entry> entries) {
        this.path = path;
        this.source = path.toString();
        this.channel = channel;
        this.dataStart = dataStart;
        this.whole = whole;
        this.metadata = metadata;
        this.entries = entries;
        for (Entry e : entries.values()) e.owner = this;
    }

    /** Opens and validates {@code path}; close the result to release the file. */
    public static SafetensorsReader open(Path path) {
        return open(path, Integer.MAX_VALUE);
    }

    /** As {@link #open(Path)}, mapping the whole file only when it is at most {@code wholeMapLimit} bytes. */
    static SafetensorsReader open(Path path, long wholeMapLimit) {
        String src = path.toString();
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(src, "no such file");
        } catch (IOException e) {
            throw new CheckpointException(src, "cannot open: " + e, e);
        }
        try {
            SafetensorsReader r = parse(path, ch, wholeMapLimit);
            return r;
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsReader parse(Path path, FileChannel ch, long wholeMapLimit) {
        String src = path.toString();
        try {
            long size = ch.size();
            if (size < 8) {
                throw CheckpointException.mismatch(src, null, "file too short for a safetensors header",
                        "at least 8 bytes", size + " bytes");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n < 0 || n > size - 8) {
                throw CheckpointException.mismatch(src, null, "header length " + Long.toUnsignedString(n)
                        + " runs past the end of the file", "at most " + (size - 8) + " header bytes",
                        "a file of " + size + " bytes");
            }
            if (n > MAX_HEADER_BYTES) {
                throw CheckpointException.mismatch(src, null, "header too large", "at most " + MAX_HEADER_BYTES
                        + " bytes", n + " bytes");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            long dataStart = 8 + n;
            long dataLen = size - dataStart;

            JsonNode root;
            try {
                root = JSON.readTree(hb.array());
            } catch (JsonProcessingException e) {
                throw new CheckpointException(src, "header is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (!(root instanceof ObjectNode obj)) {
                throw CheckpointException.mismatch(src, null, "header", "a JSON object",
                        root == null || root.isMissingNode() ? "nothing" : root.getNodeType().toString().toLowerCase());
            }

            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String key = f.getKey();
                JsonNode v = f.getValue();
                if (key.equals("__metadata__")) {
                    if (!v.isObject()) {
                        throw CheckpointException.mismatch(src, null, "__metadata__", "a JSON object of strings",
                                v.getNodeType().toString().toLowerCase());
                    }
                    for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                        Map.Entry<String, JsonNode> me = m.next();
                        if (!me.getValue().isTextual()) {
                            throw CheckpointException.mismatch(src, null, "__metadata__ entry '" + me.getKey() + "'",
                                    "a string", me.getValue().getNodeType().toString().toLowerCase());
                        }
                        metadata.put(me.getKey(), me.getValue().textValue());
                    }
                    continue;
                }
                entries.put(key, parseEntry(src, key, v, dataLen, size));
            }
            checkOverlaps(src, entries);

            MappedByteBuffer whole = null;
            if (size <= wholeMapLimit && size <= Integer.MAX_VALUE) {
                whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            }
            return new SafetensorsReader(path, ch, dataStart, whole, Collections.unmodifiableMap(metadata),
                    Collections.unmodifiableMap(entries));
        } catch (IOException e) {
            throw new CheckpointException(src, "cannot read: " + e, e);
        }
    }

    private static Entry parseEntry(String src, String key, JsonNode v, long dataLen, long fileSize) {
        if (!v.isObject()) {
            throw CheckpointException.mismatch(src, key, "header entry", "a JSON object with dtype, shape and data_offsets",
                    v.toString());
        }
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw CheckpointException.mismatch(src, key, "dtype", "a string", dt == null ? "nothing" : dt.toString());
        }
        DType dtype = dtypeOf(dt.textValue());
        if (dtype == null) {
            throw new CheckpointException(src, key, "unsupported dtype '" + dt.textValue() + "' (supported: "
                    + supportedDtypes() + ")", null);
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) {
            throw CheckpointException.mismatch(src, key, "shape", "a JSON array of dimensions",
                    sh == null ? "nothing" : sh.toString());
        }
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw CheckpointException.mismatch(src, key, "shape " + sh, "non-negative integer dimensions", d.toString());
            }
            shape[i] = d.longValue();
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException e) {
                throw new CheckpointException(src, key, "shape " + sh + " has more elements than fit in 64 bits", null);
            }
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2
                || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw CheckpointException.mismatch(src, key, "data_offsets", "[begin, end] integers",
                    off == null ? "nothing" : off.toString());
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (begin < 0 || end < begin) {
            throw CheckpointException.mismatch(src, key, "data_offsets", "0 <= begin <= end", "[" + begin + ", " + end + "]");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, (long) dtype.size);
        } catch (ArithmeticException e) {
            throw new CheckpointException(src, key, "shape " + sh + " is too large", null);
        }
        if (end - begin != expected) {
            throw CheckpointException.mismatch(src, key, "data_offsets [" + begin + ", " + end + "] do not match the shape",
                    expected + " bytes (" + dtype + Arrays.toString(shape) + ")", (end - begin) + " bytes");
        }
        if (end > dataLen) {
            throw CheckpointException.mismatch(src, key, "data truncated: data_offsets [" + begin + ", " + end
                    + "] run past the end of the file", "a data section of at least " + end + " bytes",
                    dataLen + " bytes (file is " + fileSize + " bytes)");
        }
        return new Entry(key, dtype, shape, begin, end);
    }

    private static void checkOverlaps(String src, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.removeIf(e -> e.begin == e.end);
        sorted.sort(Comparator.comparingLong((Entry e) -> e.begin).thenComparingLong(e -> e.end));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1);
            Entry b = sorted.get(i);
            if (b.begin < a.end) {
                throw CheckpointException.mismatch(src, b.key, "data_offsets [" + b.begin + ", " + b.end
                        + "] overlap tensor '" + a.key + "' [" + a.begin + ", " + a.end + "]",
                        "disjoint byte ranges", "an overlap of " + (Math.min(a.end, b.end) - b.begin) + " bytes");
            }
        }
    }

    /** The safetensors dtype name for {@code d} (the enum constant name: F32, BF16, BOOL, ...). */
    static String dtypeName(DType d) {
        return d.name();
    }

    /** The {@link DType} for a safetensors dtype name, or null when unsupported. */
    static DType dtypeOf(String name) {
        for (DType d : DType.values()) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }

    private static String supportedDtypes() {
        StringBuilder sb = new StringBuilder();
        for (DType d : DType.values()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(d.name());
        }
        return sb.toString();
    }

    /** The {@code __metadata__} map (empty when the header has none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    @Override
    public Set<String> keys() {
        return entries.keySet();
    }

    @Override
    public TensorData get(String key) {
        checkOpen();
        return entries.get(key);
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(source + " is closed");
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        while (dst.hasRemaining()) {
            int r = ch.read(dst, pos);
            if (r < 0) throw new IOException("unexpected end of file at byte " + pos);
            pos += r;
        }
        dst.flip();
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }

    /** One lazily read tensor of the file. */
    private static final class Entry implements TensorData {
        SafetensorsReader owner;
        final String key;
        final DType dtype;
        final long[] shape;
        final long begin;
        final long end;
        private volatile ByteBuffer mapped;

        Entry(String key, DType dtype, long[] shape, long begin, long end) {
            this.key = key;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }

        @Override
        public DType dtype() {
            return dtype;
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        @Override
        public ByteBuffer rawBytes() {
            SafetensorsReader r = owner;
            r.checkOpen();
            long len = end - begin;
            if (len > Integer.MAX_VALUE) {
                throw CheckpointException.mismatch(r.source, key, "tensor too large for one buffer",
                        "at most " + Integer.MAX_VALUE + " bytes", len + " bytes");
            }
            ByteBuffer b = mapped;
            if (b == null) {
                if (r.whole != null) {
                    b = r.whole.slice((int) (r.dataStart + begin), (int) len);
                } else if (len == 0) {
                    b = ByteBuffer.allocate(0);
                } else {
                    try {
                        b = r.channel.map(FileChannel.MapMode.READ_ONLY, r.dataStart + begin, len);
                    } catch (IOException e) {
                        throw new CheckpointException(r.source, key, "cannot map bytes [" + (r.dataStart + begin) + ", "
                                + (r.dataStart + end) + "): " + e, e);
                    }
                }
                b = b.asReadOnlyBuffer();
                mapped = b;
            }
            return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public String toString() {
            return key + ": " + describe();
        }
    }
}
