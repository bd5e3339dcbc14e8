package org.attnzoo.sdk.tensor;

/** Element types AttnZoo reads from checkpoints and writes into ONNX graphs. */
public enum DType {
    F32(1, 4, "float32"),
    F16(10, 2, "float16"),
    BF16(16, 2, "bfloat16"),
    F64(11, 8, "float64"),
    I64(7, 8, "int64"),
    I32(6, 4, "int32"),
    I16(5, 2, "int16"),
    I8(3, 1, "int8"),
    U8(2, 1, "uint8"),
    BOOL(9, 1, "bool");

    /** The ONNX {@code TensorProto.DataType} number. */
    public final int onnxType;
    /** Bytes per element. */
    public final int size;
    /** Display name (NumPy / PyTorch spelling). */
    public final String display;

    DType(int onnxType, int size, String display) {
        this.onnxType = onnxType;
        this.size = size;
        this.display = display;
    }

    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    @Override
    public String toString() {
        return display;
    }
}
