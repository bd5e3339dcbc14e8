package org.attnzoo.sdk.io;

import org.attnzoo.sdk.runtime.NdArray;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** NumPy {@code .npy} files (format 1.0–3.0), read as float32 and written as little-endian float32. */
public final class Npy {
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /** Reads an array of float32, float64, float16 or an integer type, as float32. */
    public static NdArray read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 10 || (all[0] & 0xff) != 0x93 || !new String(all, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IOException(file + ": not a NumPy .npy file");
        }
        int major = all[6];
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xffff;
            start = 10;
        } else {
            headerLen = b.getInt(8);
            start = 12;
        }
        if (start + headerLen > all.length) throw new IOException(file + ": truncated .npy header");
        String header = new String(all, start, headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) throw new IOException(file + ": cannot parse .npy header: " + header.trim());
        if (f.group(1).equals("True")) throw new IOException(file + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
        List<Long> dims = new ArrayList<>();
        for (String p : s.group(1).split(",")) {
            if (!p.isBlank()) dims.add(Long.parseLong(p.trim()));
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long n = 1;
        for (long x : shape) n *= x;
        String descr = d.group(1);
        if (descr.startsWith(">")) throw new IOException(file + ": big-endian arrays are not supported (" + descr + ")");
        String t = descr.replace("<", "").replace("|", "").replace("=", "");
        int size = switch (t) {
            case "f4", "i4", "u4" -> 4;
            case "f8", "i8", "u8" -> 8;
            case "f2", "i2", "u2" -> 2;
            case "i1", "u1", "b1" -> 1;
            default -> throw new IOException(file + ": unsupported dtype " + descr + " (use float32)");
        };
        int dataStart = start + headerLen;
        if ((long) dataStart + n * size > all.length) {
            throw new IOException(file + ": truncated data: shape " + dims + " of " + descr + " needs " + n * size + " bytes, file has " + (all.length - dataStart));
        }
        float[] out = new float[Math.toIntExact(n)];
        ByteBuffer db = ByteBuffer.wrap(all, dataStart, all.length - dataStart).slice().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t) {
                case "f4" -> db.getFloat(4 * i);
                case "f8" -> (float) db.getDouble(8 * i);
                case "f2" -> org.attnzoo.sdk.tensor.Tensors.halfToFloat(db.getShort(2 * i));
                case "i4" -> db.getInt(4 * i);
                case "u4" -> db.getInt(4 * i) & 0xffffffffL;
                case "i8", "u8" -> db.getLong(8 * i);
                case "i2" -> db.getShort(2 * i);
                case "u2" -> db.getShort(2 * i) & 0xffff;
                case "i1" -> db.get(i);
                default -> db.get(i) & 0xff;
            };
        }
        return new NdArray(out, shape);
    }

    /** Writes float32 data atomically (temp file, then rename). */
    public static void write(Path file, NdArray a) throws IOException {
        StringBuilder sh = new StringBuilder("(");
        for (long d : a.shape()) sh.append(d).append(", ");
        if (a.shape().length > 1) sh.setLength(sh.length() - 2);
        else if (a.shape().length == 1) sh.setLength(sh.length() - 1);
        sh.append(")");
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + sh + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + a.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        b.asFloatBuffer().put(a.data());
        Path abs = file.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
        try {
            Files.write(tmp, b.array());
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
