package org.attnzoo.converters;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * Writes tensors to a {@code .safetensors} file, atomically: the data go to a temporary file in
 * the target's directory, which is then renamed over the target ({@code ATOMIC_MOVE}), so readers
 * see either the old file or the complete new one, never a partial write.
 *
 * <p>Tensors are written in the map's iteration order, each one's bytes read from
 * {@link TensorData#rawBytes()} only when it is written. The header is padded with spaces to a
 * multiple of 8 bytes, as the reference implementation does.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {
    }

    /** Writes every tensor of {@code dict} (in its key order) to {@code path}. */
    public static void write(Path path, StateDict dict) {
        Map<String, TensorData> m = new LinkedHashMap<>();
        for (String k : dict.keys()) m.put(k, dict.get(k));
        write(path, m, Map.of());
    }

    /** Writes {@code tensors} to {@code path} with no {@code __metadata__}. */
    public static void write(Path path, Map<String, ? extends TensorData> tensors) {
        write(path, tensors, Map.of());
    }

    /** Writes {@code tensors} and a {@code __metadata__} map (omitted when empty) to {@code path}. */
    public static void write(Path path, Map<String, ? extends TensorData> tensors, Map<String, String> metadata) {
        String src = path.toString();
        byte[] header = header(src, tensors, metadata);

        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = dir.resolve("." + target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + ".tmp");
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Map.Entry<String, ? extends TensorData> e : tensors.entrySet()) {
                    TensorData t = e.getValue();
                    ByteBuffer b = t.rawBytes().duplicate();
                    long expected = t.numel() * t.dtype().size;
                    if (b.remaining() != expected) {
                        throw CheckpointException.mismatch(src, e.getKey(), "rawBytes() size",
                                expected + " bytes (" + t.describe() + ")", b.remaining() + " bytes");
                    }
                    writeFully(ch, b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                // a file system without atomic rename: still never leave a half-written target
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } catch (IOException e) {
            throw new CheckpointException(src, "cannot write: " + e, e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    /** The padded JSON header for {@code tensors}. */
    static byte[] header(String src, Map<String, ? extends TensorData> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode md = root.putObject("__metadata__");
            metadata.forEach(md::put);
        }
        long offset = 0;
        for (Map.Entry<String, ? extends TensorData> e : tensors.entrySet()) {
            String key = e.getKey();
            TensorData t = e.getValue();
            if (key == null || t == null) {
                throw new CheckpointException(src, key, "null key or tensor", null);
            }
            if (key.equals("__metadata__")) {
                throw new CheckpointException(src, key, "'__metadata__' is reserved and cannot name a tensor", null);
            }
            long nbytes = Math.multiplyExact(t.numel(), (long) t.dtype().size);
            ObjectNode entry = root.putObject(key);
            entry.put("dtype", SafetensorsReader.dtypeName(t.dtype()));
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            ArrayNode off = entry.putArray("data_offsets");
            off.add(offset);
            off.add(offset + nbytes);
            offset += nbytes;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(src, "cannot encode header: " + e.getOriginalMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
