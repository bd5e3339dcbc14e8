package org.attnzoo.converters;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

import org.attnzoo.sdk.tensor.DType;

/**
 * Reads PyTorch's zip checkpoint format, as written by {@code torch.save} since torch 1.6
 * ({@code .pt}, {@code .pth}, {@code .bin}): {@code <folder>/data.pkl} is a pickle of the saved
 * object whose tensors refer, by persistent id, to storages stored as {@code <folder>/data/<key>}
 * entries. The folder name is whatever the archive uses.
 *
 * <p>The pickle is interpreted by our own restricted unpickler, which executes nothing and knows
 * only the globals a state dict needs ({@link #ALLOWED_GLOBALS}). Any other global is refused by
 * name, e.g. {@code "ckpt.pth: pickle refers to global 'posix.system', which a state dict never
 * needs; refusing to load"}. Callers may additionally list globals to accept as inert data
 * (for example {@code argparse.Namespace} in a training checkpoint's {@code args}); those become
 * {@link PickledObject}s and are never called.
 *
 * <p>{@link #root()} is the unpickled object: dicts, lists, numbers and strings as plain Java
 * values (see {@link RestrictedUnpickler}) and tensors as lazy {@link org.attnzoo.sdk.tensor.TensorData}
 * views that honour storage offset, size and stride (non-contiguous views are gathered into
 * row-major order on read) and may share a storage.
 */
public final class TorchZipReader implements AutoCloseable {

    /** The globals accepted by default (Python 2 spellings such as {@code __builtin__.set} are accepted too). */
    public static final Set<String> ALLOWED_GLOBALS;

    private static final Map<String, DType> STORAGE_TYPES = new LinkedHashMap<>();
    private static final Map<String, String> TORCH_DTYPES = new LinkedHashMap<>();

    static {
        STORAGE_TYPES.put("FloatStorage", DType.F32);
        STORAGE_TYPES.put("HalfStorage", DType.F16);
        STORAGE_TYPES.put("BFloat16Storage", DType.BF16);
        STORAGE_TYPES.put("DoubleStorage", DType.F64);
        STORAGE_TYPES.put("LongStorage", DType.I64);
        STORAGE_TYPES.put("IntStorage", DType.I32);
        STORAGE_TYPES.put("ShortStorage", DType.I16);
        STORAGE_TYPES.put("CharStorage", DType.I8);
        STORAGE_TYPES.put("ByteStorage", DType.U8);
        STORAGE_TYPES.put("BoolStorage", DType.BOOL);
        STORAGE_TYPES.put("UntypedStorage", DType.U8);
        for (String d : List.of("float32", "float", "float16", "half", "bfloat16", "float64", "double", "int64", "long",
                "int32", "int", "int16", "short", "int8", "uint8", "bool")) {
            TORCH_DTYPES.put(d, "torch." + d);
        }
        Set<String> allowed = new LinkedHashSet<>(List.of(
                "collections.OrderedDict",
                "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_tensor",
                "torch._utils._rebuild_parameter",
                "torch._utils._rebuild_parameter_with_state",
                "torch._tensor._rebuild_from_type_v2",
                "torch.Tensor",
                "torch.nn.parameter.Parameter",
                "torch.Size",
                "builtins.set",
                "builtins.frozenset",
                "_codecs.encode"));
        for (String s : STORAGE_TYPES.keySet()) allowed.add("torch." + s);
        allowed.add("torch.storage.UntypedStorage");
        for (String d : TORCH_DTYPES.keySet()) allowed.add("torch." + d);
        ALLOWED_GLOBALS = Collections.unmodifiableSet(allowed);
    }

    /** Largest {@code data.pkl} accepted (a state dict's pickle is typically well under 1 MiB). */
    static final int MAX_PICKLE_BYTES = 64 << 20;

    private final Path path;
    private final String source;
    private final ZipFile zip;
    private final String prefix;
    private final Set<String> opaqueGlobals;
    private final Map<String, TorchStorage> storages = new HashMap<>();
    private Object root;

    private TorchZipReader(Path path, ZipFile zip, String prefix, Set<String> opaqueGlobals) {
        this.path = path;
        this.source = path.toString();
        this.zip = zip;
        this.prefix = prefix;
        this.opaqueGlobals = opaqueGlobals;
    }

    /** Opens {@code path} and unpickles its {@code data.pkl} with the default allow-list. */
    public static TorchZipReader open(Path path) {
        return open(path, Set.of());
    }

    /**
     * Opens {@code path}, additionally accepting {@code opaqueGlobals} (qualified names such as
     * {@code argparse.Namespace}) as inert {@link PickledObject}s.
     */
    public static TorchZipReader open(Path path, Set<String> opaqueGlobals) {
        String src = path.toString();
        if (!Files.exists(path)) throw new CheckpointException(src, "no such file");
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new CheckpointException(src, "not a readable zip archive (truncated or corrupt?): " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(src, "no such file");
        } catch (IOException e) {
            throw new CheckpointException(src, "cannot open: " + e, e);
        }
        try {
            String prefix = findPrefix(src, zip);
            TorchZipReader r = new TorchZipReader(path, zip, prefix, Set.copyOf(opaqueGlobals));
            r.checkByteOrder();
            r.root = r.unpickle();
            return r;
        } catch (RuntimeException e) {
            try {
                zip.close();
            } catch (IOException ignored) {
                // reporting the first problem
            }
            throw e;
        }
    }

    private static String findPrefix(String src, ZipFile zip) {
        List<String> pkls = new ArrayList<>();
        Set<String> names = new TreeSet<>();
        boolean torchScript = false;
        for (var en = zip.entries(); en.hasMoreElements(); ) {
            String n = en.nextElement().getName();
            String bad = badEntryName(n);
            if (bad != null) {
                throw new CheckpointException(src, "zip entry '" + printable(n) + "' " + bad
                        + "; a torch.save archive never has one, so the file is refused");
            }
            if (names.size() < 8) names.add(n);
            int slash = n.indexOf('/');
            if (slash > 0 && n.substring(slash + 1).equals("data.pkl")) pkls.add(n.substring(0, slash + 1));
            if (slash > 0 && (n.startsWith("code/", slash + 1) || n.substring(slash + 1).equals("constants.pkl"))) {
                torchScript = true;
            }
        }
        if (torchScript) {
            throw new CheckpointException(src, "this is a TorchScript archive (torch.jit.save), not a state dict;"
                    + " save model.state_dict() with torch.save instead");
        }
        if (pkls.isEmpty()) {
            throw new CheckpointException(src, "zip archive without a '<folder>/data.pkl' entry, so not a torch.save"
                    + " checkpoint (first entries: " + String.join(", ", names) + ")");
        }
        if (pkls.size() > 1) {
            throw new CheckpointException(src, "zip archive with several data.pkl records (" + String.join(", ", pkls)
                    + "); expected one");
        }
        return pkls.get(0);
    }

    /** Why entry name {@code n} is unsafe ({@code ../} segments, absolute, drive letters, backslashes, NUL), or null. */
    static String badEntryName(String n) {
        if (n.isEmpty()) return "has an empty name";
        if (n.startsWith("/") || n.matches("(?s)[A-Za-z]:.*")) return "has an absolute path";
        if (n.indexOf('\\') >= 0) return "has a backslash in its name";
        if (n.indexOf('\0') >= 0) return "has a NUL character in its name";
        for (String part : n.split("/", -1)) {
            if (part.equals("..")) return "climbs out of the archive ('..' in its path)";
        }
        return null;
    }

    private static String printable(String n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n.length() && i < 200; i++) {
            char c = n.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        if (n.length() > 200) sb.append("...");
        return sb.toString();
    }

    private void checkByteOrder() {
        ZipEntry e = zip.getEntry(prefix + "byteorder");
        if (e == null) return; // older torch: always little-endian
        String order = new String(readEntry(e, 16), StandardCharsets.US_ASCII).trim();
        if (!order.equals("little")) {
            throw CheckpointException.mismatch(source, null, "byte order of the storages", "little", order);
        }
    }

    private Object unpickle() {
        ZipEntry e = zip.getEntry(prefix + "data.pkl");
        byte[] pkl = readEntry(e, MAX_PICKLE_BYTES);
        RestrictedUnpickler u = new RestrictedUnpickler(source, pkl, this::resolve, this::persistentLoad);
        return u.load();
    }

    /**
     * The bytes of a small entry (the pickle, the byte order), at most {@code max}: an entry whose
     * declared size is larger is refused before reading, and one that inflates past its declared
     * size (a zip bomb lying about its size) is refused as soon as it does.
     */
    private byte[] readEntry(ZipEntry e, int max) {
        long declared = e.getSize();
        if (declared > max) {
            throw CheckpointException.mismatch(source, null, "entry '" + e.getName() + "' is too large",
                    "at most " + max + " bytes", declared + " bytes");
        }
        int limit = declared >= 0 ? (int) declared : max;
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes(limit);
            if (in.read() >= 0) {
                throw new CheckpointException(source, "entry '" + e.getName() + "' inflates past "
                        + (declared >= 0 ? "its declared size of " + declared + " bytes" : max + " bytes")
                        + " (a zip bomb?); refused");
            }
            return b;
        } catch (IOException ex) {
            throw new CheckpointException(source, "cannot read entry '" + e.getName() + "': " + ex, ex);
        }
    }

    /** Reads {@code len} bytes of {@code s} from byte {@code offset}; {@code key} names the tensor for messages. */
    byte[] readStorage(TorchStorage s, long offset, int len, String key) {
        try (InputStream in = zip.getInputStream(s.entry)) {
            in.skipNBytes(offset);
            byte[] b = in.readNBytes(len);
            if (b.length != len) {
                throw CheckpointException.mismatch(source, key, "storage entry '" + s.entryName + "' ends early",
                        (offset + len) + " bytes", (offset + b.length) + " bytes");
            }
            return b;
        } catch (IllegalStateException ex) {
            throw new CheckpointException(source, key, "archive is closed", ex);
        } catch (IOException ex) {
            throw new CheckpointException(source, key, "cannot read storage entry '" + s.entryName + "': " + ex, ex);
        }
    }

    // ---- globals ----

    /** A class that only serves as a marker argument (torch.Tensor, Parameter). */
    private record TorchClass(String name) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A storage class named in a persistent id. */
    private record StorageType(String name, DType dtype) {
        @Override
        public String toString() {
            return "torch." + name;
        }
    }

    private Object resolve(String module, String name) {
        return resolveGlobal(source, opaqueGlobals, module, name);
    }

    /**
     * What the restricted unpickler gets for global {@code module.name}: a callable or marker for
     * the allowed globals and {@code opaqueGlobals}, else null (refused).
     */
    static Object resolveGlobal(String source, Set<String> opaqueGlobals, String module, String name) {
        String m = switch (module) {
            case "__builtin__" -> "builtins";
            case "copy_reg" -> "copyreg";
            default -> module;
        };
        String q = m + "." + name;
        switch (q) {
            case "collections.OrderedDict":
                return (RestrictedUnpickler.Callable) args -> {
                    Map<Object, Object> d = new LinkedHashMap<>();
                    if (args.size() == 1 && args.get(0) instanceof List<?> items) {
                        for (Object it : items) {
                            if (!(it instanceof List<?> kv) || kv.size() != 2) throw badArgs(source, q, args);
                            checkHashable(source, q, kv.get(0));
                            d.put(kv.get(0), kv.get(1));
                        }
                    } else if (args.size() == 1 && args.get(0) instanceof Map<?, ?> src) {
                        d.putAll(src);
                    } else if (!args.isEmpty()) {
                        throw badArgs(source, q, args);
                    }
                    return d;
                };
            case "builtins.set":
            case "builtins.frozenset":
                return (RestrictedUnpickler.Callable) args -> {
                    if (args.isEmpty()) return new LinkedHashSet<>();
                    if (args.size() == 1 && args.get(0) instanceof List<?> l) {
                        for (Object o : l) checkHashable(source, q, o);
                        return new LinkedHashSet<>(l);
                    }
                    throw badArgs(source, q, args);
                };
            case "_codecs.encode":
                return (RestrictedUnpickler.Callable) args -> {
                    if (args.size() == 2 && args.get(0) instanceof String s && args.get(1) instanceof String enc
                            && (enc.equals("latin1") || enc.equals("latin-1"))) {
                        return s.getBytes(StandardCharsets.ISO_8859_1);
                    }
                    throw badArgs(source, q, args);
                };
            case "torch.Size":
                return (RestrictedUnpickler.Callable) args -> {
                    if (args.size() == 1 && args.get(0) instanceof List<?> l) return Collections.unmodifiableList(l);
                    throw badArgs(source, q, args);
                };
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor":
                return (RestrictedUnpickler.Callable) args -> rebuildTensor(source, q, args);
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                return (RestrictedUnpickler.Callable) args -> {
                    if (args.size() >= 1 && args.get(0) instanceof TorchTensor t) return t;
                    throw badArgs(source, q, args);
                };
            case "torch._tensor._rebuild_from_type_v2":
                return (RestrictedUnpickler.Callable) args -> {
                    // (func, new_type, args, state): the subclass and its Python state do not matter to us
                    if (args.size() == 4 && args.get(0) instanceof RestrictedUnpickler.Callable f
                            && args.get(1) instanceof TorchClass && args.get(2) instanceof List<?> fa) {
                        @SuppressWarnings("unchecked")
                        List<Object> a = (List<Object>) fa;
                        return f.call(a);
                    }
                    throw badArgs(source, q, args);
                };
            case "torch.Tensor":
            case "torch.nn.parameter.Parameter":
                return new TorchClass(q);
            case "torch.storage.UntypedStorage":
                return new StorageType("UntypedStorage", DType.U8);
            default:
                break;
        }
        if (m.equals("torch") && STORAGE_TYPES.containsKey(name)) return new StorageType(name, STORAGE_TYPES.get(name));
        if (m.equals("torch") && TORCH_DTYPES.containsKey(name)) return TORCH_DTYPES.get(name);
        if (opaqueGlobals.contains(q) || opaqueGlobals.contains(module + "." + name)) {
            return (RestrictedUnpickler.Callable) args -> new PickledObject(q, Collections.unmodifiableList(new ArrayList<>(args)));
        }
        return null;
    }

    private static void checkHashable(String source, String global, Object key) {
        String why = RestrictedUnpickler.unhashable(key, 0);
        if (why != null) {
            throw new CheckpointException(source, "corrupt pickle: " + global + " given a key or member that is " + why);
        }
    }

    private static CheckpointException badArgs(String source, String global, List<Object> args) {
        StringBuilder sb = new StringBuilder();
        for (Object a : args) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(RestrictedUnpickler.typeName(a));
        }
        return new CheckpointException(source, "corrupt pickle: unexpected arguments to " + global + ": (" + sb + ")");
    }

    private static Object rebuildTensor(String source, String q, List<Object> args) {
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        // _rebuild_tensor(storage, storage_offset, size, stride)
        int min = q.endsWith("_v2") ? 6 : 4;
        if (args.size() < min || args.size() > 7 || !(args.get(0) instanceof TorchStorage s)
                || !(args.get(1) instanceof Long offset) || !(args.get(2) instanceof List<?> size)
                || !(args.get(3) instanceof List<?> stride) || size.size() != stride.size()) {
            throw badArgs(source, q, args);
        }
        long[] sh = new long[size.size()];
        long[] st = new long[stride.size()];
        for (int i = 0; i < sh.length; i++) {
            if (!(size.get(i) instanceof Long a) || !(stride.get(i) instanceof Long b) || a < 0 || b < 0) {
                throw badArgs(source, q, args);
            }
            sh[i] = a;
            st[i] = b;
        }
        if (offset < 0) throw badArgs(source, q, args);
        long numel = 1;
        for (long d : sh) {
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw new CheckpointException(source, "corrupt pickle: tensor of size " + size
                        + " has more elements than fit in 64 bits");
            }
        }
        return new TorchTensor(s, offset, sh, st);
    }

    private Object persistentLoad(Object pid) {
        // ('storage', storage_type, key, location, numel)
        if (!(pid instanceof List<?> t) || t.size() != 5 || !"storage".equals(t.get(0))
                || !(t.get(2) instanceof String key) || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw new CheckpointException(source, "corrupt pickle: unexpected persistent id " + describePid(pid));
        }
        if (!(t.get(1) instanceof StorageType type)) {
            throw new CheckpointException(source, "corrupt pickle: persistent id names storage type "
                    + RestrictedUnpickler.typeName(t.get(1)));
        }
        TorchStorage s = storages.get(key);
        if (s != null) {
            if (s.dtype != type.dtype() || s.numel != numel) {
                throw new CheckpointException(source, "storage '" + key + "' is declared both as " + s.typeName + " of "
                        + s.numel + " elements and as " + type.name() + " of " + numel + " elements");
            }
            return s;
        }
        String entryName = prefix + "data/" + key;
        s = new TorchStorage(this, key, type.name(), type.dtype(), numel, entryName, zip.getEntry(entryName));
        storages.put(key, s);
        return s;
    }

    private static String describePid(Object pid) {
        if (pid instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("(");
            for (Object o : l) {
                if (sb.length() > 1) sb.append(", ");
                sb.append(o instanceof String s ? "'" + s + "'" : RestrictedUnpickler.typeName(o));
            }
            return sb.append(")").toString();
        }
        return RestrictedUnpickler.typeName(pid);
    }

    // ---- accessors ----

    /** The unpickled top-level object (usually a {@code Map}). */
    public Object root() {
        return root;
    }

    /** The archive's record folder, with its trailing slash (e.g. {@code "archive/"}). */
    public String recordPrefix() {
        return prefix;
    }

    public Path path() {
        return path;
    }

    /** The file name used in messages. */
    public String source() {
        return source;
    }

    @Override
    public void close() {
        try {
            zip.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
