package org.attnzoo.converters;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Python object of a class that the caller explicitly allowed as opaque data (for example
 * {@code argparse.Namespace} holding a training script's arguments). Nothing of it is executed: it
 * records which global was called, with which arguments, and the state a later BUILD gave it
 * (typically the instance {@code __dict__} as a {@code Map}), and, for a dict subclass such as
 * yacs' {@code CfgNode}, the items SETITEM(S) gave it.
 */
public final class PickledObject {
    private final String global;
    private final List<Object> args;
    private Object state;
    private final Map<Object, Object> items = new LinkedHashMap<>();

    PickledObject(String global, List<Object> args) {
        this.global = Objects.requireNonNull(global);
        this.args = args;
    }

    /** The qualified name of the class or function, e.g. {@code argparse.Namespace}. */
    public String global() {
        return global;
    }

    /** The constructor / reduce arguments (an unmodifiable list). */
    public List<Object> args() {
        return args;
    }

    /** The state set by BUILD, or null. */
    public Object state() {
        return state;
    }

    /** The items of a dict subclass (empty for other objects), unmodifiable. */
    public Map<Object, Object> items() {
        return Collections.unmodifiableMap(items);
    }

    void putItem(Object key, Object value) {
        items.put(key, value);
    }

    void setState(Object state) {
        this.state = state;
    }

    @Override
    public String toString() {
        // not the contents: they may nest deeply or contain this object
        return global + "(" + args.size() + " args" + (items.isEmpty() ? "" : ", " + items.size() + " items") + (state == null ? "" : ", with state") + ")";
    }
}
