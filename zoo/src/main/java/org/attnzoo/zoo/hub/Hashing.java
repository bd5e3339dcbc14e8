package org.attnzoo.zoo.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 helpers. */
final class Hashing {

    static final int BUFFER = 1 << 16;

    private Hashing() {
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }

    static String sha256Hex(String s) {
        return hex(sha256().digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    static String sha256Hex(Path file) throws IOException {
        MessageDigest md = sha256();
        update(md, file, Long.MAX_VALUE);
        return hex(md.digest());
    }

    /** Feeds the first {@code limit} bytes of {@code file} into {@code md}; returns the count fed. */
    static long update(MessageDigest md, Path file, long limit) throws IOException {
        long n = 0;
        byte[] buf = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(file)) {
            while (n < limit) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, limit - n));
                if (r < 0) {
                    break;
                }
                md.update(buf, 0, r);
                n += r;
            }
        }
        return n;
    }
}
