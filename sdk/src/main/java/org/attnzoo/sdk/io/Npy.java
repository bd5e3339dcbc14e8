package org.attnzoo.sdk.io;

import org.attnzoo.sdk.runtime.NdArray;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
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

    /** Longest header accepted (NumPy itself refuses headers over 10,000 bytes by default). */
    static final int MAX_HEADER_BYTES = 100_000;

    /**
     * Reads an array of float32, float64, float16 or an integer type, as float32.
     *
     * <p>Anything else is refused with an {@link IOException} whose one-line message names the file
     * and the problem: not a .npy file, an unknown format version, a header that is truncated, too
     * long or unparsable, Fortran order, big-endian or object (pickled) data, other dtypes, negative
     * dimensions, an element count that overflows or exceeds what one Java array holds, and data
     * shorter than the header claims. Only the header is read before these checks, so a file
     * claiming a huge array costs nothing; the data is then read exactly (never more than the file
     * holds).
     */
    public static NdArray read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, pre, 0);
            pre.flip();
            byte[] magic = new byte[Math.min(6, pre.limit())];
            pre.get(0, magic);
            if (pre.limit() < 10 || (magic[0] & 0xff) != 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
                throw new IOException(file + ": not a NumPy .npy file (no \\x93NUMPY magic)");
            }
            int major = pre.get(6) & 0xff;
            long headerLen;
            int start;
            if (major == 1) {
                headerLen = pre.getShort(8) & 0xffff;
                start = 10;
            } else if (major == 2 || major == 3) {
                if (pre.limit() < 12) throw new IOException(file + ": truncated .npy header");
                headerLen = pre.getInt(8) & 0xffffffffL;
                start = 12;
            } else {
                throw new IOException(file + ": unsupported .npy format version " + major + "." + (pre.get(7) & 0xff)
                        + " (1.0 to 3.0 are read)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new IOException(file + ": .npy header of " + headerLen + " bytes; at most " + MAX_HEADER_BYTES
                        + " are accepted");
            }
            if (start + headerLen > fileSize) {
                throw new IOException(file + ": truncated .npy header: it claims " + headerLen + " bytes, the file has "
                        + (fileSize - start) + " after the preamble");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, start);
            String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Matcher d = DESCR.matcher(header), f = FORTRAN.matcher(header), s = SHAPE.matcher(header);
            if (!d.find() || !f.find() || !s.find()) {
                throw new IOException(file + ": cannot parse .npy header: " + oneLine(header));
            }
            if (f.group(1).equals("True")) {
                throw new IOException(file + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
            }
            String descr = d.group(1);
            if (descr.startsWith(">")) throw new IOException(file + ": big-endian arrays are not supported (" + descr + ")");
            String t = descr.replace("<", "").replace("|", "").replace("=", "");
            if (t.startsWith("O")) {
                throw new IOException(file + ": object arrays (dtype " + descr + ") hold pickled Python objects and are never"
                        + " loaded; save a numeric array");
            }
            int size = switch (t) {
                case "f4", "i4", "u4" -> 4;
                case "f8", "i8", "u8" -> 8;
                case "f2", "i2", "u2" -> 2;
                case "i1", "u1", "b1" -> 1;
                default -> throw new IOException(file + ": unsupported dtype " + oneLine(descr) + " (use float32)");
            };
            List<Long> dims = new ArrayList<>();
            long n = 1;
            for (String p : s.group(1).split(",", -1)) {
                if (p.isBlank()) continue;
                long dim;
                try {
                    dim = Long.parseLong(p.trim());
                } catch (NumberFormatException e) {
                    throw new IOException(file + ": bad dimension '" + oneLine(p.trim()) + "' in shape (" + oneLine(s.group(1)) + ")");
                }
                if (dim < 0) throw new IOException(file + ": negative dimension " + dim + " in shape " + dims);
                dims.add(dim);
                try {
                    n = Math.multiplyExact(n, dim);
                } catch (ArithmeticException e) {
                    throw new IOException(file + ": shape (" + oneLine(s.group(1)) + ") has more elements than fit in 64 bits");
                }
            }
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            long dataStart = start + headerLen;
            long have = fileSize - dataStart;
            if (n > have / size) {
                throw new IOException(file + ": truncated data: shape " + dims + " of " + descr + " needs "
                        + (n <= Long.MAX_VALUE / size ? (n * size) + " bytes" : "more than 2^63 bytes") + ", file has " + have);
            }
            if (n > Integer.MAX_VALUE - 8) {
                throw new IOException(file + ": " + n + " elements are more than one Java array holds");
            }
            ByteBuffer db = ByteBuffer.allocate((int) (n * size)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, db, dataStart);
            float[] out = new float[(int) n];
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
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such .npy file");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
        while (dst.hasRemaining()) {
            int r = ch.read(dst, pos);
            if (r < 0) break;
            pos += r;
        }
    }

    /** {@code s} on one line, at most 200 characters, for messages. */
    private static String oneLine(String s) {
        String t = s.replaceAll("[\\r\\n\\t]+", " ").trim();
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
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
