package org.attnzoo.converters;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes pickle opcodes by hand, for hostile test files. */
final class Pickles {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Pickles() {
        op(0x80).op(2); // PROTO 2
    }

    Pickles op(int b) {
        out.write(b);
        return this;
    }

    Pickles str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        le32(b.length);
        out.writeBytes(b);
        return this;
    }

    Pickles integer(long v) {
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            op('J');
            return le32((int) v);
        }
        op(0x8a).op(8); // LONG1 of 8 bytes
        for (int i = 0; i < 8; i++) op((int) (v >>> (8 * i)) & 0xff);
        return this;
    }

    /** GLOBAL with text arguments, as protocol 2 writes it. */
    Pickles global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** STACK_GLOBAL from two strings pushed first (protocol 4's way). */
    Pickles stackGlobal(String module, String name) {
        return str(module).str(name).op(0x93);
    }

    Pickles mark() {
        return op('(');
    }

    Pickles tuple() {
        return op('t');
    }

    Pickles emptyDict() {
        return op('}');
    }

    Pickles setItem() {
        return op('s');
    }

    Pickles reduce() {
        return op('R');
    }

    Pickles binput(int i) {
        return op('q').op(i);
    }

    Pickles binget(int i) {
        return op('h').op(i);
    }

    /** {@code torch._utils._rebuild_tensor_v2(storage(key, numel), 0, size, stride, False, OrderedDict())}. */
    Pickles tensor(String storageType, String key, long numel, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().op('Q');
        integer(0);
        mark();
        for (long s : size) integer(s);
        tuple();
        mark();
        for (long s : stride) integer(s);
        tuple();
        op(0x89); // False
        global("collections", "OrderedDict").op(')').reduce();
        return tuple().reduce();
    }

    Pickles stop() {
        return op('.');
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    private Pickles le32(int v) {
        for (int i = 0; i < 4; i++) op((v >>> (8 * i)) & 0xff);
        return this;
    }
}
