package org.attnzoo.converters;

import java.util.zip.ZipEntry;

import org.attnzoo.sdk.tensor.DType;

/** One storage of a torch zip checkpoint: the archive entry {@code <prefix>/data/<key>}. */
final class TorchStorage {
    final TorchZipReader reader;
    final String key;
    final String typeName;
    final DType dtype;
    /** Elements, as the persistent id declares them. */
    final long numel;
    final String entryName;
    /** Null when the archive lacks the entry (reported when a tensor using it is checked). */
    final ZipEntry entry;

    TorchStorage(TorchZipReader reader, String key, String typeName, DType dtype, long numel, String entryName,
                 ZipEntry entry) {
        this.reader = reader;
        this.key = key;
        this.typeName = typeName;
        this.dtype = dtype;
        this.numel = numel;
        this.entryName = entryName;
        this.entry = entry;
    }

    /** Null when the archive entry is present and holds exactly numel &times; element size bytes. */
    String problem() {
        if (entry == null) {
            return "storage entry '" + entryName + "' is missing from the archive";
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, (long) dtype.size);
        } catch (ArithmeticException e) {
            return "storage '" + key + "' declares " + numel + " elements of " + typeName + ", more bytes than fit in 64 bits";
        }
        long actual = entry.getSize();
        if (actual >= 0 && actual != expected) {
            return "storage entry '" + entryName + "' holds " + actual + " bytes, expected " + expected
                    + " (" + numel + " elements of " + typeName + ")";
        }
        return null;
    }

    @Override
    public String toString() {
        return typeName + "(" + entryName + ", " + numel + " elements)";
    }
}
