package org.attnzoo.converters;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle interpreter that never runs Python: every {@code GLOBAL} is looked up through a
 * {@link Resolver}, which knows the few callables a checkpoint legitimately needs and answers null
 * for anything else, which is then refused by name.
 *
 * <p>Values map to Java as: None &rarr; null, bool &rarr; Boolean, int &rarr; Long (BigInteger
 * when it does not fit), float &rarr; Double, str &rarr; String, bytes/bytearray &rarr; byte[],
 * list &rarr; mutable ArrayList, tuple &rarr; unmodifiable List, dict &rarr; LinkedHashMap (in
 * pickle order), set/frozenset &rarr; LinkedHashSet.
 *
 * <p>Opcodes of protocols 0&ndash;5 that describe data are supported; INST, OBJ, EXT*, PERSID
 * (text) and out-of-band buffers are not (torch.save never emits them).
 *
 * <p>Hostile pickles are bounded: the interpreter is a loop over an explicit stack (a pickle nested
 * 100,000 deep costs no Java stack), it builds at most {@link #MAX_VALUES} values (so the heap it
 * takes is bounded whatever the pickle's length), integers are at most {@link #MAX_INT_BYTES}
 * bytes (no quadratic BigInteger parsing), and dict keys and set members must be hashable values
 * as in Python (str, int, float, bool, None, bytes, or tuples of those), so no hash ever recurses
 * into a nested or self-referencing container. Every refusal is a one-line
 * {@link CheckpointException}.
 */
final class RestrictedUnpickler {

    /** Something REDUCE, NEWOBJ or NEWOBJ_EX may call. */
    interface Callable {
        Object call(List<Object> args);
    }

    /** Maps a global to a {@link Callable} or a marker value; null refuses it. */
    interface Resolver {
        Object resolve(String module, String name);
    }

    /** Resolves the persistent ids BINPERSID pops (torch's storage references). */
    interface PersistentLoader {
        Object load(Object pid);
    }

    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };

    private static final Class<?> TUPLE_CLASS = Collections.unmodifiableList(new ArrayList<>()).getClass();

    /** Most values (pushes and memo entries) one pickle may build; a state dict needs far fewer. */
    static final int MAX_VALUES = 2_000_000;
    /** Longest integer accepted, in bytes (LONG4) or, times 2.5, in decimal digits (INT/LONG). */
    static final int MAX_INT_BYTES = 1024;
    /** Deepest tuple accepted as a dict key or set member. */
    private static final int MAX_KEY_DEPTH = 16;

    private int values;

    private final String source;
    private final byte[] data;
    private final Resolver resolver;
    private final PersistentLoader persistentLoader;
    private int pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    RestrictedUnpickler(String source, byte[] data, Resolver resolver, PersistentLoader persistentLoader) {
        this.source = source;
        this.data = data;
        this.resolver = resolver;
        this.persistentLoader = persistentLoader;
    }

    /** Interprets the pickle up to STOP and returns the value it describes. */
    Object load() {
        while (true) {
            if (pos >= data.length) throw corrupt("ends without a STOP opcode (truncated?)");
            int at = pos;
            int op = data[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) throw corrupt("unsupported pickle protocol " + proto);
                }
                case 0x95 -> skip(8); // FRAME: length only, frames are contiguous in a byte array
                case '.' -> { // STOP
                    Object v = pop(at);
                    return v;
                }
                case '(' -> { // MARK
                    count();
                    marks.add(stack.size());
                    stack.add(MARK);
                }
                case '0' -> pop(at); // POP
                case '1' -> popMark(at); // POP_MARK
                case '2' -> push(peek(at)); // DUP

                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) i32());
                case 'K' -> push((long) u8());
                case 'M' -> push((long) u16());
                case 0x8a -> push(longOf(bytes(u8()))); // LONG1
                case 0x8b -> push(longOf(bytes(intLength(i32(), at)))); // LONG4
                case 'G' -> push(Double.longBitsToDouble(beLong())); // BINFLOAT (big-endian)
                case 'I' -> { // INT (text)
                    String s = line();
                    if (s.equals("00")) push(Boolean.FALSE);
                    else if (s.equals("01")) push(Boolean.TRUE);
                    else push(parseInt(s, at));
                }
                case 'L' -> { // LONG (text)
                    String s = line();
                    if (s.endsWith("L")) s = s.substring(0, s.length() - 1);
                    push(parseInt(s, at));
                }
                case 'F' -> { // FLOAT (text)
                    String s = line();
                    try {
                        push(Double.parseDouble(s));
                    } catch (NumberFormatException e) {
                        throw corrupt("bad FLOAT '" + s + "' at byte " + at);
                    }
                }

                case 'X' -> push(utf8(bytes(length(i32(), at)))); // BINUNICODE
                case 0x8c -> push(utf8(bytes(u8()))); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(bytes(length(i64(), at)))); // BINUNICODE8
                case 'T' -> push(utf8(bytes(length(i32(), at)))); // BINSTRING (Python 2 str)
                case 'U' -> push(utf8(bytes(u8()))); // SHORT_BINSTRING
                case 'B' -> push(bytes(length(i32(), at))); // BINBYTES
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(bytes(length(i64(), at))); // BINBYTES8, BYTEARRAY8

                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case ')' -> push(tuple(List.of())); // EMPTY_TUPLE
                case 0x8f -> push(new LinkedHashSet<>()); // EMPTY_SET
                case 'd' -> { // DICT
                    List<Object> items = popMark(at);
                    push(setItems(new LinkedHashMap<>(), items, at));
                }
                case 'l' -> push(new ArrayList<>(popMark(at))); // LIST
                case 't' -> push(tuple(popMark(at))); // TUPLE
                case 0x85 -> push(tuple(popN(1, at))); // TUPLE1
                case 0x86 -> push(tuple(popN(2, at))); // TUPLE2
                case 0x87 -> push(tuple(popN(3, at))); // TUPLE3
                case 0x91 -> push(setOf(popMark(at), at)); // FROZENSET

                case 's' -> { // SETITEM
                    List<Object> kv = popN(2, at);
                    setItems(peek(at), kv, at);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark(at);
                    setItems(peek(at), items, at);
                }
                case 'a' -> { // APPEND
                    Object v = pop(at);
                    appendAll(peek(at), Collections.singletonList(v), at, "APPEND");
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark(at);
                    appendAll(peek(at), items, at, "APPENDS");
                }
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark(at);
                    Object set = peek(at);
                    if (!(set instanceof Set<?>)) throw corrupt("ADDITEMS on " + typeName(set) + " at byte " + at);
                    @SuppressWarnings("unchecked")
                    Set<Object> s = (Set<Object>) set;
                    for (Object o : items) s.add(hashable(o, at));
                }

                case 'q' -> memoPut((long) u8(), peek(at)); // BINPUT
                case 'r' -> memoPut(u32(), peek(at)); // LONG_BINPUT
                case 0x94 -> memoPut((long) memo.size(), peek(at)); // MEMOIZE
                case 'p' -> memoPut(parseIndex(line(), at), peek(at)); // PUT (text)
                case 'h' -> push(memoGet(u8(), at)); // BINGET
                case 'j' -> push(memoGet(u32(), at)); // LONG_BINGET
                case 'g' -> push(memoGet(parseIndex(line(), at), at)); // GET (text)

                case 'c' -> { // GLOBAL
                    String module = line();
                    String name = line();
                    push(global(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(at);
                    Object module = pop(at);
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw corrupt("STACK_GLOBAL needs two strings at byte " + at);
                    }
                    push(global(m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop(at);
                    Object fn = pop(at);
                    push(call(fn, args, at, "REDUCE"));
                }
                case 0x81 -> { // NEWOBJ
                    Object args = pop(at);
                    Object cls = pop(at);
                    push(call(cls, args, at, "NEWOBJ"));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop(at);
                    Object args = pop(at);
                    Object cls = pop(at);
                    if (kwargs instanceof Map<?, ?> m && !m.isEmpty()) {
                        throw corrupt("NEWOBJ_EX with keyword arguments is not supported (byte " + at + ")");
                    }
                    push(call(cls, args, at, "NEWOBJ_EX"));
                }
                case 'b' -> { // BUILD
                    Object state = pop(at);
                    build(peek(at), state, at);
                }
                case 'Q' -> { // BINPERSID
                    Object pid = pop(at);
                    if (persistentLoader == null) throw corrupt("unexpected persistent id at byte " + at);
                    push(persistentLoader.load(pid));
                }
                default -> throw corrupt("unsupported pickle opcode 0x" + Integer.toHexString(op)
                        + (op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : "") + " at byte " + at);
            }
        }
    }

    private Object global(String module, String name) {
        Object g = resolver.resolve(module, name);
        if (g == null) {
            throw new CheckpointException(source, "pickle refers to global '" + module + "." + name
                    + "', which a state dict never needs; refusing to load");
        }
        return g;
    }

    private Object call(Object fn, Object args, int at, String op) {
        if (!(fn instanceof Callable c)) {
            throw corrupt(op + " on " + typeName(fn) + ", which is not callable (byte " + at + ")");
        }
        if (!(args instanceof List<?> l)) {
            throw corrupt(op + " arguments are " + typeName(args) + ", not a tuple (byte " + at + ")");
        }
        @SuppressWarnings("unchecked")
        List<Object> a = (List<Object>) l;
        return c.call(a);
    }

    private void build(Object obj, Object state, int at) {
        if (obj instanceof PickledObject p) {
            p.setState(state);
        } else if (obj instanceof Map<?, ?>) {
            // attributes of a dict subclass, e.g. the _metadata of Module.state_dict(): not data
            if (state != null && !(state instanceof Map<?, ?>) && !(state instanceof List<?>)) {
                throw corrupt("BUILD on a dict with state " + typeName(state) + " (byte " + at + ")");
            }
        } else {
            throw corrupt("BUILD on " + typeName(obj) + " is not supported (byte " + at + ")");
        }
    }

    private Object setItems(Object target, List<Object> items, int at) {
        if (items.size() % 2 != 0) throw corrupt("SETITEMS with an odd number of items at byte " + at);
        if (target instanceof PickledObject p) { // an allowed dict subclass (yacs CfgNode)
            for (int i = 0; i < items.size(); i += 2) p.putItem(hashable(items.get(i), at), items.get(i + 1));
            return p;
        }
        if (!(target instanceof Map<?, ?>)) throw corrupt("SETITEM(S) on " + typeName(target) + " at byte " + at);
        @SuppressWarnings("unchecked")
        Map<Object, Object> m = (Map<Object, Object>) target;
        for (int i = 0; i < items.size(); i += 2) m.put(hashable(items.get(i), at), items.get(i + 1));
        return m;
    }

    private void appendAll(Object target, List<Object> items, int at, String op) {
        if (target instanceof List<?> l) {
            @SuppressWarnings("unchecked")
            List<Object> list = (List<Object>) l;
            try {
                list.addAll(items);
            } catch (UnsupportedOperationException e) {
                throw corrupt(op + " on a tuple at byte " + at);
            }
        } else if (target instanceof Set<?> s) {
            @SuppressWarnings("unchecked")
            Set<Object> set = (Set<Object>) s;
            for (Object o : items) set.add(hashable(o, at));
        } else {
            throw corrupt(op + " on " + typeName(target) + " at byte " + at);
        }
    }

    /**
     * {@code key} as a dict key or set member: Python's hashable values only (so that hashing
     * never recurses into a nested or self-referencing container); bytes (rare) become strings,
     * since Java arrays do not compare by value.
     */
    private Object hashable(Object key, int at) {
        String why = unhashable(key, 0);
        if (why != null) throw corrupt("a dict key or set member is " + why + " (byte " + at + ")");
        if (key instanceof byte[] b) return new String(b, StandardCharsets.ISO_8859_1);
        return key;
    }

    /** Null when {@code o} may be hashed; else what is wrong with it. */
    static String unhashable(Object o, int depth) {
        if (o == null || o instanceof String || o instanceof Long || o instanceof BigInteger || o instanceof Double
                || o instanceof Boolean || o instanceof byte[]) {
            return null;
        }
        if (o instanceof List<?> l && l.getClass() == TUPLE_CLASS) {
            if (depth >= MAX_KEY_DEPTH) return "a tuple nested more than " + MAX_KEY_DEPTH + " deep";
            for (Object e : l) {
                String why = unhashable(e, depth + 1);
                if (why != null) return why;
            }
            return null;
        }
        return "an unhashable " + typeName(o);
    }

    /** A set of {@code items}, each checked to be hashable. */
    private Set<Object> setOf(List<Object> items, int at) {
        Set<Object> s = new LinkedHashSet<>();
        for (Object o : items) s.add(hashable(o, at));
        return s;
    }

    private void memoPut(long idx, Object v) {
        count();
        memo.put(idx, v);
    }

    private void count() {
        if (++values > MAX_VALUES) {
            throw corrupt("builds more than " + MAX_VALUES + " values (at byte " + pos + "); a state dict needs far fewer,"
                    + " so this is refused to bound memory");
        }
    }

    private static List<Object> tuple(List<Object> items) {
        return Collections.unmodifiableList(new ArrayList<>(items));
    }

    // ---- stack ----

    private void push(Object o) {
        count();
        stack.add(o);
    }

    private Object pop(int at) {
        if (stack.isEmpty()) throw corrupt("stack underflow at byte " + at);
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK) throw corrupt("unexpected MARK at byte " + at);
        return o;
    }

    private Object peek(int at) {
        if (stack.isEmpty()) throw corrupt("stack underflow at byte " + at);
        Object o = stack.get(stack.size() - 1);
        if (o == MARK) throw corrupt("unexpected MARK at byte " + at);
        return o;
    }

    private List<Object> popN(int n, int at) {
        if (stack.size() < n) throw corrupt("stack underflow at byte " + at);
        List<Object> sub = stack.subList(stack.size() - n, stack.size());
        if (sub.contains(MARK)) throw corrupt("unexpected MARK at byte " + at);
        List<Object> out = new ArrayList<>(sub);
        sub.clear();
        return out;
    }

    private List<Object> popMark(int at) {
        if (marks.isEmpty()) throw corrupt("no MARK to pop to at byte " + at);
        int m = marks.remove(marks.size() - 1);
        List<Object> sub = stack.subList(m + 1, stack.size());
        List<Object> out = new ArrayList<>(sub);
        stack.subList(m, stack.size()).clear();
        return out;
    }

    private Object memoGet(long idx, int at) {
        if (!memo.containsKey(idx)) throw corrupt("memo entry " + idx + " read before it was written (byte " + at + ")");
        return memo.get(idx);
    }

    // ---- reading ----

    private CheckpointException corrupt(String what) {
        return new CheckpointException(source, "corrupt pickle: " + what);
    }

    private void need(int n) {
        if (n < 0 || pos + n > data.length) {
            throw corrupt("needs " + n + " more bytes at byte " + pos + " but only " + (data.length - pos) + " remain (truncated?)");
        }
    }

    private void skip(int n) {
        need(n);
        pos += n;
    }

    private int u8() {
        need(1);
        return data[pos++] & 0xff;
    }

    private int u16() {
        need(2);
        int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    private int i32() {
        need(4);
        int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8 | (data[pos + 2] & 0xff) << 16 | (data[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long u32() {
        return i32() & 0xffffffffL;
    }

    private long i64() {
        long lo = u32();
        long hi = u32();
        return lo | hi << 32;
    }

    private long beLong() {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) v = v << 8 | (data[pos + i] & 0xff);
        pos += 8;
        return v;
    }

    private int length(long n, int at) {
        if (n < 0 || n > data.length - pos) {
            throw corrupt("length " + n + " at byte " + at + " runs past the end of the pickle (" + (data.length - pos)
                    + " bytes remain)");
        }
        return (int) n;
    }

    private int intLength(long n, int at) {
        int len = length(n, at);
        if (len > MAX_INT_BYTES) {
            throw corrupt("integer of " + len + " bytes at byte " + at + "; at most " + MAX_INT_BYTES + " are accepted");
        }
        return len;
    }

    private byte[] bytes(int n) {
        need(n);
        byte[] b = Arrays.copyOfRange(data, pos, pos + n);
        pos += n;
        return b;
    }

    private String line() {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') pos++;
        if (pos >= data.length) throw corrupt("unterminated text argument at byte " + start);
        String s = new String(data, start, pos - start, StandardCharsets.UTF_8);
        pos++;
        return s;
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Little-endian two's complement, as LONG1/LONG4 store it. */
    private static Object longOf(byte[] le) {
        if (le.length == 0) return 0L;
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private Object parseInt(String s, int at) {
        if (s.length() > MAX_INT_BYTES * 5 / 2) {
            throw corrupt("integer of " + s.length() + " digits at byte " + at + "; at most " + MAX_INT_BYTES * 5 / 2
                    + " are accepted");
        }
        try {
            BigInteger v = new BigInteger(s.trim());
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        } catch (NumberFormatException e) {
            throw corrupt("bad integer '" + s + "' at byte " + at);
        }
    }

    private long parseIndex(String s, int at) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw corrupt("bad memo index '" + s + "' at byte " + at);
        }
    }

    static String typeName(Object o) {
        if (o == null) return "None";
        if (o instanceof Map<?, ?>) return "dict";
        if (o instanceof List<?> l) return l.getClass() == TUPLE_CLASS ? "tuple" : "list";
        if (o instanceof Set<?>) return "set";
        if (o instanceof Collection<?>) return "collection";
        if (o instanceof String) return "str";
        if (o instanceof Long || o instanceof BigInteger) return "int";
        if (o instanceof Double) return "float";
        if (o instanceof Boolean) return "bool";
        if (o instanceof byte[]) return "bytes";
        if (o instanceof PickledObject p) return p.global();
        return o.toString();
    }
}
