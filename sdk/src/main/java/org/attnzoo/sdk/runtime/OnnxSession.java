package org.attnzoo.sdk.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An ONNX model opened on ONNX Runtime. One session serves many threads at once ({@link #run} is
 * thread-safe); {@link #close()} waits for runs in flight (a read-write lock: runs share the read
 * side, close takes the write side), after which every method that would touch the native session
 * throws an {@link IllegalStateException} saying the session is closed, never a native crash.
 */
public final class OnnxSession implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("org.attnzoo.runtime");

    private final Path path;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final Device device;
    private final String fallbackReason;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<String, long[]> inputShapes;
    private static final int MAX_POOLED = 64;
    private final ConcurrentLinkedQueue<ByteBuffer> pool = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    private OnnxSession(Path path, OrtEnvironment env, OrtSession session, Device device, String fallbackReason) {
        this.path = path;
        this.env = env;
        this.session = session;
        this.device = device;
        this.fallbackReason = fallbackReason;
        this.inputShapes = readInputShapes();
    }

    public static OnnxSession open(Path model) {
        return open(model, RuntimeOptions.defaults());
    }

    public static OnnxSession open(Path model, RuntimeOptions ro) {
        if (!Files.isRegularFile(model)) {
            throw new ModelRuntimeException(model + ": no such model file");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Device want = ro.device();
        String reason = null;
        Device got = Device.cpu();
        if (want.kind() != Device.Kind.CPU) {
            try {
                return create(model, env, ro, want.kind() == Device.Kind.AUTO ? Device.cuda(0) : want, null);
            } catch (CudaUnavailable e) {
                reason = e.getMessage();
                if (want.kind() == Device.Kind.CUDA && !ro.allowCpuFallback()) {
                    throw new ModelRuntimeException("CUDA requested but unavailable: " + reason, e.getCause());
                }
                LOG.log(System.Logger.Level.WARNING, "CUDA unavailable (" + reason + "); running " + model.getFileName() + " on CPU");
            }
        }
        try {
            return create(model, env, ro, got, reason);
        } catch (CudaUnavailable e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class CudaUnavailable extends Exception {
        CudaUnavailable(String msg, Throwable cause) {
            super(msg, cause);
        }
    }

    private static OnnxSession create(Path model, OrtEnvironment env, RuntimeOptions ro, Device dev, String reason) throws CudaUnavailable {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(ro.optimize() ? OrtSession.SessionOptions.OptLevel.ALL_OPT : OrtSession.SessionOptions.OptLevel.NO_OPT);
            if (ro.intraOpThreads() > 0) so.setIntraOpNumThreads(ro.intraOpThreads());
            if (ro.interOpThreads() > 0) so.setInterOpNumThreads(ro.interOpThreads());
            if (!ro.spinning()) so.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (ro.profilePrefix() != null) so.enableProfiling(ro.profilePrefix().toAbsolutePath().toString());
            for (Path lib : ro.customOpLibraries()) {
                try {
                    so.registerCustomOpLibrary(lib.toAbsolutePath().toString());
                } catch (OrtException e) {
                    throw new ModelRuntimeException("cannot load custom-op library " + lib + ": " + e.getMessage(), e);
                }
            }
            if (dev.kind() == Device.Kind.CUDA) {
                try {
                    so.addCUDA(dev.index());
                } catch (OrtException | UnsatisfiedLinkError | RuntimeException e) {
                    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
                    throw new CudaUnavailable(m + (cudaInThisBuild() ? "" : " (this ONNX Runtime build has no CUDA provider: build AttnZoo with mvn -Pcuda)"), e);
                }
            }
            OrtSession s = env.createSession(model.toAbsolutePath().toString(), so);
            return new OnnxSession(model, env, s, dev, reason);
        } catch (OrtException e) {
            throw new ModelRuntimeException(model + ": ONNX Runtime could not open the model: " + e.getMessage(), e);
        }
    }

    private static boolean cudaInThisBuild() {
        try {
            return OrtEnvironment.getAvailableProviders().contains(ai.onnxruntime.OrtProvider.CUDA);
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    public Path path() {
        return path;
    }

    /** The device the model actually runs on. */
    public Device device() {
        return device;
    }

    /** Why a CUDA request fell back to CPU, or null. */
    public String fallbackReason() {
        return fallbackReason;
    }

    public List<String> inputNames() {
        checkOpen();
        return List.copyOf(session.getInputNames());
    }

    public List<String> outputNames() {
        checkOpen();
        return List.copyOf(session.getOutputNames());
    }

    /** True once {@link #close()} has run. */
    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(path + ": session is closed");
    }

    /** Input shapes as the model declares them (-1 for a run-time size). */
    public Map<String, long[]> inputShapes() {
        Map<String, long[]> copy = new LinkedHashMap<>();
        inputShapes.forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
    }

    private Map<String, long[]> readInputShapes() {
        try {
            Map<String, long[]> m = new LinkedHashMap<>();
            for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
                m.put(e.getKey(), ((TensorInfo) e.getValue().getInfo()).getShape());
            }
            return m;
        } catch (OrtException e) {
            throw new ModelRuntimeException(path + ": " + e.getMessage(), e);
        }
    }

    public Map<String, String> metadata() {
        lock.readLock().lock();
        try {
            checkOpen();
            return session.getMetadata().getCustomMetadata();
        } catch (OrtException e) {
            throw new ModelRuntimeException(path + ": " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs a single-input model and returns its first output. */
    public NdArray run(NdArray input) {
        checkOpen();
        String name = session.getInputNames().iterator().next();
        Map<String, NdArray> out = run(Map.of(name, input));
        return out.values().iterator().next();
    }

    /** Runs the model on named float inputs; returns every output, in model order. */
    public Map<String, NdArray> run(Map<String, NdArray> inputs) {
        lock.readLock().lock();
        try {
            checkOpen();
            Map<String, long[]> declared = inputShapes;
            Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
            List<ByteBuffer> borrowed = new ArrayList<>(inputs.size());
            try {
                for (Map.Entry<String, NdArray> e : inputs.entrySet()) {
                    long[] want = declared.get(e.getKey());
                    if (want == null) {
                        throw new ModelRuntimeException(path + ": the model has no input '" + e.getKey() + "' (inputs: " + declared.keySet() + ")");
                    }
                    checkShape(e.getKey(), want, e.getValue().shape());
                    float[] data = e.getValue().data();
                    ByteBuffer direct = borrow(data.length);
                    borrowed.add(direct);
                    FloatBuffer fb = direct.asFloatBuffer();
                    fb.put(data).rewind();
                    feeds.put(e.getKey(), OnnxTensor.createTensor(env, fb, e.getValue().shape()));
                }
                try (OrtSession.Result r = session.run(feeds)) {
                    Map<String, NdArray> out = new LinkedHashMap<>();
                    for (Map.Entry<String, OnnxValue> e : r) {
                        OnnxTensor t = (OnnxTensor) e.getValue();
                        long[] shape = t.getInfo().getShape();
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] d = new float[fb.remaining()];
                        fb.get(d);
                        out.put(e.getKey(), new NdArray(d, shape));
                    }
                    return out;
                }
            } finally {
                for (OnnxTensor t : feeds.values()) t.close();
                for (ByteBuffer b : borrowed) giveBack(b);
            }
        } catch (OrtException e) {
            throw new ModelRuntimeException(path + ": inference failed: " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * A native-order direct buffer for {@code floats} input values. ONNX Runtime copies a heap
     * buffer into a fresh direct buffer on every run, whose native memory is only returned when the
     * garbage collector gets to it (with a small heap that can be hundreds of runs later, so native
     * memory climbed by the input size per run under load); input buffers are therefore pooled per
     * session, at most {@value #MAX_POOLED} of them.
     */
    private ByteBuffer borrow(int floats) {
        long bytes = 4L * floats;
        for (ByteBuffer b; (b = pool.poll()) != null; ) {
            if (b.capacity() >= bytes) {
                b.clear().limit((int) bytes);
                return b;
            }
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    private void giveBack(ByteBuffer b) {
        if (pool.size() < MAX_POOLED) pool.offer(b);
    }

    private void checkShape(String name, long[] want, long[] got) {
        boolean ok = want.length == got.length;
        for (int i = 0; ok && i < want.length; i++) ok = want[i] < 0 || want[i] == got[i];
        if (!ok) {
            throw new ModelRuntimeException(path.getFileName() + ": input '" + name + "' has shape " + Arrays.toString(got)
                    + " but the model expects " + Arrays.toString(want).replace("-1", "N"));
        }
    }

    /**
     * Stops profiling (opened with {@link RuntimeOptions#withProfiling}) and returns the trace file
     * ONNX Runtime wrote: a JSON array of events, one per node run, with {@code op_name} and
     * {@code dur} (microseconds) in each node event.
     */
    public Path endProfiling() {
        lock.writeLock().lock();
        try {
            if (closed) throw new IllegalStateException(path + ": session is closed");
            return Path.of(session.endProfiling());
        } catch (OrtException e) {
            throw new ModelRuntimeException(path + ": cannot end profiling: " + e.getMessage(), e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            session.close();
        } catch (OrtException e) {
            throw new ModelRuntimeException(path + ": " + e.getMessage(), e);
        } finally {
            lock.writeLock().unlock();
        }
    }
}
