package org.attnzoo.converters;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

/**
 * The result of {@link KeyMap#apply(StateDict)}: a view of the source state dict under new keys.
 * Tensors are the source's own (lazy) tensors, or whatever lazy tensors the map's transforms made.
 * Closing it closes the source.
 */
public final class MappedStateDict implements StateDict {
    /** The {@link #origin} of tensors a whole-dict transform created from no single source key. */
    public static final String TRANSFORM_ORIGIN = "<transform>";

    private final StateDict source;
    private final Map<String, TensorData> tensors;
    private final Map<String, String> origins;
    private final List<String> dropped;

    MappedStateDict(StateDict source, Map<String, TensorData> tensors, Map<String, String> origins, List<String> dropped) {
        this.source = source;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.origins = Collections.unmodifiableMap(origins);
        this.dropped = Collections.unmodifiableList(dropped);
    }

    @Override
    public Set<String> keys() {
        return tensors.keySet();
    }

    @Override
    public TensorData get(String key) {
        return tensors.get(key);
    }

    /** The source key {@code key} was mapped from (or {@link #TRANSFORM_ORIGIN}); null if absent. */
    public String origin(String key) {
        return origins.get(key);
    }

    /** Source keys the map dropped, in source order. */
    public List<String> dropped() {
        return dropped;
    }

    /** The state dict this is a view of. */
    public StateDict sourceDict() {
        return source;
    }

    @Override
    public String source() {
        return source.source();
    }

    @Override
    public void close() {
        source.close();
    }

    @Override
    public String toString() {
        return "MappedStateDict[" + source.source() + ", " + tensors.size() + " tensors, " + dropped.size() + " dropped]";
    }
}
