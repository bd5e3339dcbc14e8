package org.attnzoo.sdk.graph;

import com.google.protobuf.ByteString;
import org.attnzoo.sdk.onnx.proto.OnnxIr.AttributeProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.AttributeProto.AttributeType;

import java.nio.charset.StandardCharsets;

/** Factory for ONNX node attributes. */
public final class Attr {
    private Attr() {
    }

    public static AttributeProto i(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(v).build();
    }

    public static AttributeProto f(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(v).build();
    }

    public static AttributeProto s(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
                .setS(ByteString.copyFrom(v, StandardCharsets.UTF_8)).build();
    }

    public static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    public static AttributeProto floats(String name, float... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOATS);
        for (float x : v) b.addFloats(x);
        return b.build();
    }

    /** An attribute of a function-body node that refers to the calling node's attribute. */
    public static AttributeProto ref(String name, String refAttrName, AttributeType type) {
        return AttributeProto.newBuilder().setName(name).setRefAttrName(refAttrName).setType(type).build();
    }
}
