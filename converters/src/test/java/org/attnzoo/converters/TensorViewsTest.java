package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import org.attnzoo.sdk.tensor.DType;
import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.StateDict;
import org.attnzoo.sdk.tensor.TensorData;

class TensorViewsTest {

    /** 2x3x4 tensor with values 0..23. */
    private static TensorData cube() {
        float[] v = new float[24];
        for (int i = 0; i < v.length; i++) v[i] = i;
        return new FloatTensor(new long[] {2, 3, 4}, v);
    }

    @Test
    void reshape() {
        TensorData r = TensorViews.reshape(cube(), 6, -1);
        assertThat(r.shape()).containsExactly(6, 4);
        assertThat(r.toFloatArray()).isEqualTo(cube().toFloatArray());
        assertThatThrownBy(() -> TensorViews.reshape(cube(), 5, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TensorViews.reshape(cube(), 2, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void narrowAlongEachDimension() {
        assertThat(TensorViews.narrow(cube(), 0, 1, 1).toFloatArray())
                .containsExactly(12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
        TensorData mid = TensorViews.narrow(cube(), 1, 1, 2);
        assertThat(mid.shape()).containsExactly(2, 2, 4);
        assertThat(mid.toFloatArray()).containsExactly(4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23);
        assertThat(TensorViews.narrow(cube(), 2, 3, 1).toFloatArray()).containsExactly(3, 7, 11, 15, 19, 23);
        assertThatThrownBy(() -> TensorViews.narrow(cube(), 2, 3, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TensorViews.narrow(cube(), 3, 0, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void chunkLikeTorch() {
        List<TensorData> parts = TensorViews.chunk(new FloatTensor(new long[] {5}, new float[] {0, 1, 2, 3, 4}), 3, 0);
        assertThat(parts).hasSize(3);
        assertThat(parts.get(0).toFloatArray()).containsExactly(0, 1);
        assertThat(parts.get(2).toFloatArray()).containsExactly(4);
    }

    @Test
    void permute() {
        TensorData p = TensorViews.permute(cube(), 2, 0, 1);
        assertThat(p.shape()).containsExactly(4, 2, 3);
        float[] v = p.toFloatArray();
        // p[i][j][k] = cube[j][k][i] = 12j + 4k + i
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                for (int k = 0; k < 3; k++) assertThat(v[i * 6 + j * 3 + k]).isEqualTo(12 * j + 4 * k + i);
            }
        }
        assertThatThrownBy(() -> TensorViews.permute(cube(), 0, 0, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void upcastIsExact() {
        for (String name : List.of("st_fp16.safetensors", "st_bf16.safetensors")) {
            try (StateDict up = StateDicts.upcast(Checkpoints.open(Fixtures.file(name)))) {
                for (String k : up.keys()) {
                    TensorData t = up.get(k);
                    assertThat(t.dtype()).isEqualTo(DType.F32);
                    var exp = Fixtures.expected(name).get("tensors").get(k);
                    float[] f = new float[t.rawBytes().remaining() / 4];
                    t.rawBytes().asFloatBuffer().get(f);
                    for (int i = 0; i < f.length; i++) {
                        assertThat(Double.compare(f[i], exp.get("values").get(i).asDouble())).isZero();
                    }
                }
            }
        }
        try (StateDict up = StateDicts.upcast(Checkpoints.open(Fixtures.file("st_all_dtypes.safetensors")))) {
            assertThat(up.get("i64").dtype()).isEqualTo(DType.I64);
            assertThat(up.get("f64").dtype()).isEqualTo(DType.F64);
        }
    }
}
