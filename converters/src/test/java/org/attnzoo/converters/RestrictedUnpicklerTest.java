package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

@SuppressWarnings("unchecked")
class RestrictedUnpicklerTest {

    private static Object load(byte[] pkl) {
        return new RestrictedUnpickler("x.pkl", pkl,
                (m, n) -> TorchZipReader.resolveGlobal("x.pkl", Set.of(), m, n), null).load();
    }

    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof String s) out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
            else if (p instanceof Integer i) out.write(i);
            else throw new IllegalArgumentException();
        }
        return out.toByteArray();
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 4, 5})
    void readsPlainPythonValues(int protocol) throws Exception {
        Object root = load(Files.readAllBytes(Fixtures.file("values_p" + protocol + ".pkl")));
        assertThat(root).isInstanceOf(Map.class);
        Map<Object, Object> m = (Map<Object, Object>) root;
        assertThat(m.get("int_small")).isEqualTo(7L);
        assertThat(m.get("int_neg")).isEqualTo(-5L);
        assertThat(m.get("int_2b")).isEqualTo(300L);
        assertThat(m.get("int_4b")).isEqualTo(-70000L);
        assertThat(m.get("int_big")).isEqualTo(BigInteger.TWO.pow(70));
        assertThat(m.get("int_bigneg")).isEqualTo(BigInteger.TWO.pow(63).negate().subtract(BigInteger.ONE));
        assertThat(m.get("float")).isEqualTo(0.1);
        assertThat(m.get("str")).isEqualTo("héllo ✓");
        assertThat(m.containsKey("none")).isTrue();
        assertThat(m.get("none")).isNull();
        assertThat(m.get("t")).isEqualTo(true);
        assertThat(m.get("f")).isEqualTo(false);
        assertThat((List<Object>) m.get("list")).containsExactly(1L, "a", null);
        List<Object> tuple = (List<Object>) m.get("tuple");
        assertThat(tuple).containsExactly(1L, 2.5);
        assertThatThrownBy(() -> ((List<Object>) tuple).add(3L)).isInstanceOf(UnsupportedOperationException.class);
        Map<Object, Object> a = (Map<Object, Object>) ((Map<Object, Object>) m.get("nested")).get("a");
        List<Object> b = (List<Object>) a.get("b");
        assertThat(b.get(0)).isSameAs(b.get(1)); // memoised shared reference
        assertThat((List<Object>) b.get(0)).containsExactly(1L, 2L);
        assertThat((Set<Object>) m.get("set")).containsExactly(3L);
        assertThat((Set<Object>) m.get("frozenset")).containsExactly(4L);
        assertThat((byte[]) m.get("bytes")).containsExactly(0, 0xff);
        assertThat(m.get(5L)).isEqualTo("int key");
    }

    @Test
    void refusesGlobalsByName() {
        byte[] p = bytes(0x80, 2, "cos\nsystem\n", "X", 2, 0, 0, 0, "ls", 0x85, "R.");
        assertThatThrownBy(() -> load(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessage("x.pkl: pickle refers to global 'os.system', which a state dict never needs; refusing to load");
    }

    @Test
    void refusesStackGlobalsByName() {
        byte[] p = bytes(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "eval", 0x93, 0x8c, 2, "42", 0x85, "R.");
        assertThatThrownBy(() -> load(p))
                .hasMessage("x.pkl: pickle refers to global 'builtins.eval', which a state dict never needs; refusing to load");
    }

    @Test
    void refusesAPython2GlobalUnderItsOwnName() {
        byte[] p = bytes(0x80, 2, "c__builtin__\ngetattr\n", ").");
        assertThatThrownBy(() -> load(p)).hasMessageContaining("'__builtin__.getattr'");
    }

    @Test
    void corruptPickles() {
        assertThatThrownBy(() -> load(bytes(0x80, 2, "K", 1))).hasMessageContaining("x.pkl: corrupt pickle")
                .hasMessageContaining("without a STOP");
        assertThatThrownBy(() -> load(bytes(0x80, 2, "X", 100, 0, 0, 0, "abc."))).hasMessageContaining("runs past the end");
        assertThatThrownBy(() -> load(bytes(0x80, 2, "h", 3, "."))).hasMessageContaining("memo entry 3 read before");
        assertThatThrownBy(() -> load(bytes(0x80, 2, "."))).hasMessageContaining("stack underflow");
        assertThatThrownBy(() -> load(bytes(0x80, 2, "(i__main__\nX\n."))).hasMessageContaining("unsupported pickle opcode 0x69 ('i')");
        assertThatThrownBy(() -> load(bytes(0x80, 9, "N."))).hasMessageContaining("protocol 9");
        assertThatThrownBy(() -> load(bytes(0x80, 2, "K", 1, "K", 2, "R."))).hasMessageContaining("not callable");
        assertThatThrownBy(() -> load(bytes(0x80, 2, "K", 1, "Q."))).hasMessageContaining("persistent id");
    }

    @Test
    void selfReferencingListDoesNotRecurseForever() {
        Object o = load(bytes(0x80, 2, "]q", 0, "h", 0, "a."));
        List<Object> l = (List<Object>) o;
        assertThat(l).hasSize(1);
        assertThat(l.get(0)).isSameAs(l);
    }

    @Test
    void textOpcodesOfProtocolZero() {
        Object o = load(bytes("(I12\nL99L\nF1.5\np0\ng0\nI01\nl."));
        assertThat((List<Object>) o).containsExactly(12L, 99L, 1.5, 1.5, true);
    }
}
