package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

class KeyMapTest {

    private static TensorData t(float... v) {
        return new FloatTensor(new long[] {v.length}, v);
    }

    private static StateDict dict(String... keys) {
        Map<String, TensorData> m = new LinkedHashMap<>();
        for (int i = 0; i < keys.length; i++) m.put(keys[i], t(i));
        return StateDicts.of("timm.pth", m);
    }

    @Test
    void identityChangesNothing() {
        StateDict sd = dict("a", "b.c");
        MappedStateDict out = KeyMap.identity().apply(sd);
        assertThat(out.keys()).containsExactly("a", "b.c");
        assertThat(out.get("b.c")).isSameAs(sd.get("b.c"));
        assertThat(out.dropped()).isEmpty();
        assertThat(out.source()).isEqualTo("timm.pth");
    }

    @Test
    void rulesApplyInOrder() {
        StateDict sd = dict("module.blocks.0.attn.qkv.weight", "module.blocks.11.norm1.weight",
                "module.blocks.0.gamma_1", "module.bn.num_batches_tracked", "module.layers.0.relative_position_index",
                "module.head.weight");
        KeyMap km = KeyMap.builder()
                .renamePrefix("module.", "")
                .drop(".*num_batches_tracked")
                .dropGlob("*.relative_position_index")
                .rename("blocks\\.(\\d+)\\.attn\\.(.*)", "layers.$1.attention.$2")
                .replace("\\.gamma_1$", ".ls1.gamma")
                .replace("^blocks\\.", "layers.")
                .build();
        MappedStateDict out = km.apply(sd);
        assertThat(out.keys()).containsExactly("layers.0.attention.qkv.weight", "layers.11.norm1.weight",
                "layers.0.ls1.gamma", "head.weight");
        assertThat(out.origin("layers.0.ls1.gamma")).isEqualTo("module.blocks.0.gamma_1");
        assertThat(out.get("layers.11.norm1.weight")).isSameAs(sd.get("module.blocks.11.norm1.weight"));
        assertThat(out.dropped()).containsExactly("module.bn.num_batches_tracked", "module.layers.0.relative_position_index");
        assertThat(km.mapKey("module.blocks.3.attn.proj.bias")).isEqualTo("layers.3.attention.proj.bias");
        assertThat(km.mapKey("x.num_batches_tracked")).isNull();
    }

    @Test
    void renameNeedsAWholeKeyMatch() {
        KeyMap km = KeyMap.builder().rename("a|ab", "X").build();
        assertThat(km.mapKey("ab")).isEqualTo("X");
        assertThat(km.mapKey("abc")).isEqualTo("abc");
    }

    @Test
    void keepDropsEverythingElse() {
        MappedStateDict out = KeyMap.builder().keep("backbone\\..*").build().apply(dict("backbone.a", "head.b", "backbone.c"));
        assertThat(out.keys()).containsExactly("backbone.a", "backbone.c");
        assertThat(out.dropped()).containsExactly("head.b");
    }

    @Test
    void collisionsNameBothSourceKeys() {
        KeyMap km = KeyMap.builder().replace("^(norm|fc_norm)\\.", "final_norm.").build();
        assertThatThrownBy(() -> km.apply(dict("norm.weight", "fc_norm.weight")))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith("timm.pth: tensor 'final_norm.weight': key map sends both 'norm.weight' and"
                        + " 'fc_norm.weight' to this key");
    }

    @Test
    void expandSplitsFusedQkvLazily() {
        AtomicInteger reads = new AtomicInteger();
        float[] qkv = new float[6 * 2];
        for (int i = 0; i < qkv.length; i++) qkv[i] = i;
        TensorData fused = new LazyTensor(DType.F32, new long[] {6, 2}, () -> {
            reads.incrementAndGet();
            return StateDicts.floatsToBytes(qkv);
        });
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("blocks.0.attn.qkv.weight", fused);
        m.put("blocks.0.attn.proj.weight", t(9));
        KeyMap km = KeyMap.builder()
                .expand("(.*)\\.qkv\\.weight", (k, w) -> {
                    String p = k.substring(0, k.length() - "qkv.weight".length());
                    List<TensorData> parts = TensorViews.chunk(w, 3, 0);
                    Map<String, TensorData> out = new LinkedHashMap<>();
                    out.put(p + "q.weight", parts.get(0));
                    out.put(p + "k.weight", parts.get(1));
                    out.put(p + "v.weight", parts.get(2));
                    return out;
                })
                .build();
        MappedStateDict out = km.apply(StateDicts.of("src", m));
        assertThat(reads).hasValue(0);
        assertThat(out.keys()).containsExactly("blocks.0.attn.q.weight", "blocks.0.attn.k.weight",
                "blocks.0.attn.v.weight", "blocks.0.attn.proj.weight");
        assertThat(out.origin("blocks.0.attn.v.weight")).isEqualTo("blocks.0.attn.qkv.weight");
        assertThat(out.get("blocks.0.attn.k.weight").shape()).containsExactly(2, 2);
        assertThat(out.get("blocks.0.attn.k.weight").toFloatArray()).containsExactly(4f, 5f, 6f, 7f);
        assertThat(reads).hasValue(1);
    }

    @Test
    void expandReturningNothingDrops() {
        MappedStateDict out = KeyMap.builder().expand("head\\..*", (k, v) -> Map.of()).build()
                .apply(dict("head.w", "x"));
        assertThat(out.keys()).containsExactly("x");
        assertThat(out.dropped()).containsExactly("head.w");
    }

    @Test
    void expandCollidingWithAnExistingKeyFails() {
        KeyMap km = KeyMap.builder().expand("a", (k, v) -> Map.of("b", v)).build();
        assertThatThrownBy(() -> km.apply(dict("a", "b"))).hasMessageContaining("sends both 'a' and 'b'");
    }

    @Test
    void transformSeesTheDictAsItStands() {
        KeyMap km = KeyMap.builder()
                .renamePrefix("enc.", "")
                .transform(sd -> {
                    Map<String, TensorData> out = new LinkedHashMap<>();
                    for (String k : sd.keys()) out.put(k, sd.get(k));
                    float[] a = sd.get("w1").toFloatArray();
                    float[] b = sd.get("w2").toFloatArray();
                    out.remove("w1");
                    out.remove("w2");
                    out.put("w", t(a[0] + b[0]));
                    return out;
                })
                .renamePrefix("x", "y")
                .build();
        StateDict src = dict("enc.w1", "enc.w2", "enc.x");
        MappedStateDict out = km.apply(src);
        assertThat(out.keys()).containsExactly("y", "w");
        assertThat(out.get("w").toFloatArray()).containsExactly(1f);
        assertThat(out.origin("y")).isEqualTo("enc.x");
        assertThat(out.origin("w")).isEqualTo(MappedStateDict.TRANSFORM_ORIGIN);
    }

    @Test
    void andThenConcatenatesAndCloseReachesTheSource() {
        AtomicBoolean closed = new AtomicBoolean();
        StateDict src = new StateDict() {
            public java.util.Set<String> keys() {
                return java.util.Set.of("a");
            }

            public TensorData get(String key) {
                return key.equals("a") ? t(1) : null;
            }

            public String source() {
                return "mem";
            }

            public void close() {
                closed.set(true);
            }
        };
        KeyMap km = KeyMap.builder().renamePrefix("a", "b").build()
                .andThen(KeyMap.builder().renamePrefix("b", "c").build());
        try (MappedStateDict out = km.apply(src)) {
            assertThat(out.keys()).containsExactly("c");
            assertThat(out.sourceDict()).isSameAs(src);
        }
        assertThat(closed).isTrue();
    }

    @Test
    void worksOnARealCheckpoint() {
        try (MappedStateDict out = KeyMap.builder()
                .drop(".*num_batches_tracked")
                .rename("0\\.(weight|bias)", "fc.$1")
                .rename("1\\.(.*)", "bn.$1")
                .rename("2\\.(.*)", "ln.$1")
                .build()
                .apply(Checkpoints.open(Fixtures.file("pt_wrapped.pth")))) {
            assertThat(out.keys()).containsExactly("fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
                    "bn.running_var", "ln.weight", "ln.bias");
            Fixtures.assertTensor(out.get("bn.running_var"),
                    Fixtures.expected("pt_wrapped.pth").get("tensors").get("1.running_var"), "bn.running_var");
            assertThat(out.dropped()).containsExactly("1.num_batches_tracked");
        }
    }

    @Test
    void globToRegex() {
        assertThat("a.b.relative_position_index").matches(KeyMap.globToRegex("*.relative_position_index"));
        assertThat("a.b.relative_position_indexes").doesNotMatch(KeyMap.globToRegex("*.relative_position_index"));
        assertThat("ab").matches(KeyMap.globToRegex("a?"));
        assertThat("a(b").matches(KeyMap.globToRegex("a(?"));
    }
}
