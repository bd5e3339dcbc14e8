package org.attnzoo.converters;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Set;

import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * The state dict {@link Checkpoints#open} found in a checkpoint file, with how it was found: the
 * format, the entry it was unwrapped from, the prefix stripped from every key, and the non-tensor
 * values that were skipped. Close it to release the file.
 */
public final class Checkpoint implements StateDict {
    private final Path path;
    private final Checkpoints.Format format;
    private final String entry;
    private final String strippedPrefix;
    private final Map<String, TensorData> tensors;
    private final Map<String, String> ignored;
    private final Map<String, String> metadata;
    private final Object root;
    private final AutoCloseable resource;

    Checkpoint(Path path, Checkpoints.Format format, String entry, String strippedPrefix,
               Map<String, TensorData> tensors, Map<String, String> ignored, Map<String, String> metadata,
               Object root, AutoCloseable resource) {
        this.path = path;
        this.format = format;
        this.entry = entry;
        this.strippedPrefix = strippedPrefix;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.ignored = Collections.unmodifiableMap(ignored);
        this.metadata = Collections.unmodifiableMap(metadata);
        this.root = root;
        this.resource = resource;
    }

    public Path path() {
        return path;
    }

    public Checkpoints.Format format() {
        return format;
    }

    /**
     * Where in the file the state dict was found: {@code ""} for the top level, else the entry
     * name(s) unwrapped, joined with '.', e.g. {@code "model"} or {@code "state_dict"}.
     */
    public String entry() {
        return entry;
    }

    /** The prefix removed from every key ({@code "module."}), or {@code ""}. */
    public String strippedPrefix() {
        return strippedPrefix;
    }

    /**
     * Non-tensor values found inside the chosen entry, which are not part of the state dict: the
     * flattened key (before prefix stripping) to a short description such as {@code "int 3"}.
     */
    public Map<String, String> ignored() {
        return ignored;
    }

    /** The safetensors {@code __metadata__} (empty for torch checkpoints). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * For torch checkpoints, the whole unpickled object (e.g. a map with {@code epoch} and
     * {@code args} beside {@code model}); null for safetensors.
     */
    public Object root() {
        return root;
    }

    @Override
    public Set<String> keys() {
        return tensors.keySet();
    }

    @Override
    public TensorData get(String key) {
        return tensors.get(key);
    }

    @Override
    public String source() {
        return path.toString();
    }

    @Override
    public void close() {
        try {
            resource.close();
        } catch (Exception e) {
            throw new CheckpointException(source(), "cannot close: " + e, e);
        }
    }

    @Override
    public String toString() {
        return "Checkpoint[" + path + ", " + format + (entry.isEmpty() ? "" : ", entry '" + entry + "'")
                + ", " + tensors.size() + " tensors]";
    }
}
