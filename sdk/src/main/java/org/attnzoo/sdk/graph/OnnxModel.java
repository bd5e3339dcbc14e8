package org.attnzoo.sdk.graph;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import org.attnzoo.sdk.onnx.proto.OnnxIr.GraphProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ModelProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.OperatorSetIdProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.StringStringEntryProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.TensorProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.TensorShapeProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.TypeProto;
import org.attnzoo.sdk.onnx.proto.OnnxIr.ValueInfoProto;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import static org.attnzoo.sdk.graph.Shapes.DYN;

/**
 * Serializes a {@link Graph} as an ONNX model (IR version 8 by default). Files are written to a
 * temporary name and renamed into place, so a failed write never leaves half a model behind. Models
 * whose weights would pass protobuf's 2 GiB limit are written with external data (a {@code .data}
 * file beside the model); initializers smaller than {@link #EXTERNAL_MIN_BYTES} stay inline there,
 * because runtimes read shape-like constants (a Reshape's target shape, Slice bounds) while they
 * infer shapes, before any external data is loaded.
 */
public final class OnnxModel {
    public static final long IR_VERSION = 8;
    /** Weights above this total go to an external data file. */
    public static final long EXTERNAL_DATA_THRESHOLD = 1_800_000_000L;
    /** With external data, initializers below this size are still written inline (as ONNX's own external-data tool does). */
    public static final long EXTERNAL_MIN_BYTES = 1024;
    /** The symbolic name of run-time dimensions in emitted models. */
    public static final String DYN_NAME = "N";

    private static final String PRODUCER = "attnzoo";

    private OnnxModel() {
    }

    static ValueInfoProto valueInfo(Value v) {
        TensorShapeProto.Builder sb = TensorShapeProto.newBuilder();
        for (long d : v.shape()) {
            if (d == DYN) sb.addDimBuilder().setDimParam(DYN_NAME);
            else sb.addDimBuilder().setDimValue(d);
        }
        return ValueInfoProto.newBuilder().setName(v.name())
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(v.dtype().onnxType).setShape(sb)))
                .build();
    }

    private static TensorProto.Builder tensorHeader(Graph.Initializer init) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(init.name()).setDataType(init.dtype().onnxType);
        for (long d : init.shape()) t.addDims(d);
        if (init.doc() != null) t.setDocString(init.doc());
        return t;
    }

    private static ByteBuffer bytesOf(Graph.Initializer init) {
        ByteBuffer raw = init.data().rawBytes();
        long want = init.byteSize();
        if (raw.remaining() != want) {
            throw new IllegalStateException("initializer " + init.name() + ": " + raw.remaining() + " bytes for " + init.dtype() + Shapes.str(init.shape()));
        }
        return raw;
    }

    /** The model proto with all weights inline (fine below 2 GiB). */
    public static ModelProto toProto(Graph g) {
        return build(g, null);
    }

    private static ModelProto build(Graph g, Map<String, long[]> externalOffsets) {
        GraphProto.Builder gb = GraphProto.newBuilder().setName(g.name);
        for (Value v : g.inputs) gb.addInput(valueInfo(v));
        for (Value v : g.outputs) gb.addOutput(valueInfo(v));
        gb.addAllNode(g.nodes);
        for (Graph.Initializer init : g.initializers.values()) {
            TensorProto.Builder t = tensorHeader(init);
            long[] ext = externalOffsets == null ? null : externalOffsets.get(init.name());
            if (ext != null) {
                t.setDataLocation(TensorProto.DataLocation.EXTERNAL);
                t.addExternalData(kv("location", EXTERNAL_LOCATION.get()));
                t.addExternalData(kv("offset", Long.toString(ext[0])));
                t.addExternalData(kv("length", Long.toString(ext[1])));
            } else {
                t.setRawData(ByteString.copyFrom(bytesOf(init)));
            }
            gb.addInitializer(t);
        }
        ModelProto.Builder mb = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName(PRODUCER)
                .setProducerVersion(Version.get())
                .setGraph(gb);
        for (Map.Entry<String, Long> e : g.opsetImports.entrySet()) {
            mb.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()));
        }
        mb.addAllFunctions(g.functions.values());
        for (Map.Entry<String, String> e : g.metadata.entrySet()) mb.addMetadataProps(kv(e.getKey(), e.getValue()));
        return mb.build();
    }

    private static final ThreadLocal<String> EXTERNAL_LOCATION = new ThreadLocal<>();

    private static StringStringEntryProto kv(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    /** Total bytes of all initializers. */
    public static long weightBytes(Graph g) {
        long n = 0;
        for (Graph.Initializer i : g.initializers.values()) n += i.byteSize();
        return n;
    }

    /** Writes the model to {@code path}, atomically; external data above the threshold. */
    public static void save(Graph g, Path path) throws IOException {
        save(g, path, weightBytes(g) > EXTERNAL_DATA_THRESHOLD);
    }

    public static void save(Graph g, Path path, boolean externalData) throws IOException {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmpModel = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        Path tmpData = null;
        try {
            ModelProto model;
            Path dataPath = dir.resolve(abs.getFileName() + ".data");
            if (externalData) {
                tmpData = Files.createTempFile(dir, "." + dataPath.getFileName() + ".", ".tmp");
                Map<String, long[]> offsets = new java.util.HashMap<>();
                try (FileChannel ch = FileChannel.open(tmpData, StandardOpenOption.WRITE)) {
                    long off = 0;
                    for (Graph.Initializer init : g.initializers.values()) {
                        if (init.byteSize() < EXTERNAL_MIN_BYTES) continue;
                        ByteBuffer b = bytesOf(init);
                        long len = b.remaining();
                        // keep tensors 64-byte aligned so runtimes can map them directly
                        long aligned = (off + 63) / 64 * 64;
                        if (aligned > off) ch.write(ByteBuffer.allocate((int) (aligned - off)));
                        off = aligned;
                        while (b.hasRemaining()) ch.write(b);
                        offsets.put(init.name(), new long[]{off, len});
                        off += len;
                    }
                    ch.force(true);
                }
                EXTERNAL_LOCATION.set(dataPath.getFileName().toString());
                try {
                    model = build(g, offsets);
                } finally {
                    EXTERNAL_LOCATION.remove();
                }
            } else {
                model = build(g, null);
            }
            try (OutputStream os = Files.newOutputStream(tmpModel)) {
                CodedOutputStream cos = CodedOutputStream.newInstance(os, 1 << 20);
                model.writeTo(cos);
                cos.flush();
            }
            if (tmpData != null) {
                Files.move(tmpData, dataPath, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                tmpData = null;
            }
            Files.move(tmpModel, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmpModel = null;
        } finally {
            if (tmpModel != null) Files.deleteIfExists(tmpModel);
            if (tmpData != null) Files.deleteIfExists(tmpData);
        }
    }

    /** Serialized bytes (weights inline). */
    public static byte[] toBytes(Graph g) {
        return toProto(g).toByteArray();
    }
}
