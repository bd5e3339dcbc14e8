package org.attnzoo.converters;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.attnzoo.sdk.tensor.TensorData;

/**
 * Opens a checkpoint file, whatever its format, as a flat state dict.
 *
 * <p><b>Format detection</b> is by content, not by file name: a zip archive ({@code PK}) is read
 * as a torch.save checkpoint ({@link TorchZipReader}); a file whose 9th byte opens a JSON object,
 * or any file named {@code *.safetensors}, as safetensors ({@link SafetensorsReader}). A raw pickle
 * or tar archive (the legacy torch.save format of torch &lt; 1.6 or
 * {@code _use_new_zipfile_serialization=False}) is refused with a message saying to re-save it.
 *
 * <p><b>Unwrapping.</b> Training scripts often save {@code {'model': state_dict, 'epoch': 3,
 * 'optimizer': ...}}. When {@link Options#entry()} names an entry, that entry is used (a
 * top-level key, or a dotted path of nested keys). Otherwise, starting from the top level: if the
 * current dict holds a tensor directly, it is the state dict; else the first of
 * {@link #DEFAULT_ENTRY_PREFERENCE} ({@code model}, {@code state_dict}, {@code model_ema},
 * {@code state_dict_ema}, {@code module}) whose value is a dict containing tensors is entered,
 * and the rule is applied again (so {@code {'state_dict': {'model': ...}}} works); if none fits,
 * the current dict is used as it is. The choice depends only on the keys present, never on map
 * order, so it is deterministic; {@link Checkpoint#entry()} reports it.
 *
 * <p><b>Flattening.</b> Within the chosen dict, nested dicts of tensors are flattened with '.'
 * joins; other values (numbers, strings, lists, ...) are skipped and listed in
 * {@link Checkpoint#ignored()}. Then, when every key starts with {@code module.} (a model saved
 * through DataParallel / DistributedDataParallel), that prefix is stripped (see
 * {@link Options#stripModulePrefix()}).
 *
 * <p>For safetensors files (already flat) an explicit entry selects the keys under
 * {@code entry + "."} and removes that prefix; there is no automatic unwrapping.
 */
public final class Checkpoints {

    /** Entries unwrapped automatically, in order of preference. */
    public static final List<String> DEFAULT_ENTRY_PREFERENCE =
            List.of("model", "state_dict", "model_ema", "state_dict_ema", "module");

    /** Deepest nesting of dicts searched for tensors (a real checkpoint nests a handful deep). */
    static final int MAX_NESTING = 100;

    /**
     * Pickle globals read as inert placeholders by default: {@code argparse.Namespace}, the
     * {@code 'args'} entry that the training scripts of DeiT, ConvNeXt and timm lineage save next
     * to the weights, and {@code yacs.config.CfgNode}, the {@code 'config'} entry of Swin-lineage
     * training scripts. Only their recorded values are kept; nothing is executed.
     */
    public static final Set<String> DEFAULT_OPAQUE_GLOBALS = Set.of("argparse.Namespace", "yacs.config.CfgNode");

    /** The prefix DataParallel adds to every key. */
    public static final String MODULE_PREFIX = "module.";

    private Checkpoints() {
    }

    /** Checkpoint file formats. */
    public enum Format {
        /** {@code .safetensors}. */
        SAFETENSORS,
        /** torch.save's zip format (torch &ge; 1.6 default). */
        TORCH_ZIP
    }

    /**
     * How to open a checkpoint.
     *
     * @param entry             the entry holding the state dict, or null to choose automatically
     * @param opaqueGlobals     pickle globals to accept as inert data ({@link PickledObject}s), e.g.
     *                          {@code argparse.Namespace} (the default set); nothing is ever executed
     * @param stripModulePrefix strip {@code module.} when every key has it
     */
    public record Options(String entry, Set<String> opaqueGlobals, boolean stripModulePrefix) {
        public Options {
            opaqueGlobals = Set.copyOf(opaqueGlobals);
        }

        /** Automatic entry, {@link #DEFAULT_OPAQUE_GLOBALS}, {@code module.} stripped. */
        public static Options defaults() {
            return new Options(null, DEFAULT_OPAQUE_GLOBALS, true);
        }

        /** These options accepting no opaque globals at all (every non-tensor global refused). */
        public Options withoutOpaqueGlobals() {
            return new Options(entry, Set.of(), stripModulePrefix);
        }

        public Options withEntry(String entry) {
            return new Options(entry, opaqueGlobals, stripModulePrefix);
        }

        public Options withOpaqueGlobals(String... globals) {
            Set<String> s = new LinkedHashSet<>(opaqueGlobals);
            s.addAll(List.of(globals));
            return new Options(entry, s, stripModulePrefix);
        }

        public Options withStripModulePrefix(boolean strip) {
            return new Options(entry, opaqueGlobals, strip);
        }
    }

    /** Opens {@code path} with {@link Options#defaults()}. */
    public static Checkpoint open(Path path) {
        return open(path, Options.defaults());
    }

    /** Opens {@code path}, taking the state dict from {@code entry} (e.g. {@code "model_ema"}). */
    public static Checkpoint open(Path path, String entry) {
        return open(path, Options.defaults().withEntry(entry));
    }

    public static Checkpoint open(Path path, Options options) {
        Format f = detect(path);
        return switch (f) {
            case SAFETENSORS -> openSafetensors(path, options);
            case TORCH_ZIP -> openTorch(path, options);
        };
    }

    /** The format of {@code path}, judged by its first bytes; unsupported formats throw. */
    public static Format detect(Path path) {
        String src = path.toString();
        byte[] head;
        long size;
        try (InputStream in = Files.newInputStream(path)) {
            size = Files.size(path);
            head = in.readNBytes(512);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(src, "no such file");
        } catch (IOException e) {
            throw new CheckpointException(src, "cannot read: " + e, e);
        }
        if (head.length >= 2 && head[0] == 'P' && head[1] == 'K') return Format.TORCH_ZIP;
        if (head.length >= 9 && head[8] == '{') return Format.SAFETENSORS;
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 0 && head[1] <= 5) {
            throw new CheckpointException(src, "legacy (non-zip) torch.save format, written by torch < 1.6 or with"
                    + " _use_new_zipfile_serialization=False; re-save it with torch >= 1.6 default serialization:"
                    + " torch.save(torch.load(f, map_location='cpu'), f2)");
        }
        if (head.length >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
            throw new CheckpointException(src, "legacy tar-format torch.save checkpoint (torch < 0.4);"
                    + " re-save it with torch >= 1.6 default serialization");
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".safetensors")) {
            return Format.SAFETENSORS; // let the reader say what is wrong with it
        }
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(8, head.length); i++) hex.append(String.format("%02x", head[i] & 0xff));
        throw new CheckpointException(src, "unrecognised checkpoint format (" + size + " bytes starting "
                + (hex.length() == 0 ? "with nothing" : "0x" + hex) + "); expected a torch.save zip archive or a"
                + " .safetensors file");
    }

    private static Checkpoint openSafetensors(Path path, Options options) {
        SafetensorsReader r = SafetensorsReader.open(path);
        try {
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            String entry = "";
            if (options.entry() != null) {
                entry = options.entry();
                String p = entry + ".";
                for (String k : r.keys()) {
                    if (k.startsWith(p)) tensors.put(k.substring(p.length()), r.get(k));
                }
                if (tensors.isEmpty()) {
                    throw new CheckpointException(path.toString(), "no entry '" + entry + "': no key starts with '" + p
                            + "' (keys: " + preview(r.keys()) + ")");
                }
            } else {
                for (String k : r.keys()) tensors.put(k, r.get(k));
            }
            String stripped = "";
            if (options.stripModulePrefix()) {
                Map<String, TensorData> s = stripPrefix(tensors);
                if (s != null) {
                    tensors = s;
                    stripped = MODULE_PREFIX;
                }
            }
            return new Checkpoint(path, Format.SAFETENSORS, entry, stripped, tensors, Map.of(), r.metadata(), null, r);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    private static Checkpoint openTorch(Path path, Options options) {
        String src = path.toString();
        TorchZipReader r = TorchZipReader.open(path, options.opaqueGlobals());
        try {
            Object root = r.root();
            if (!(root instanceof Map<?, ?> top)) {
                throw new CheckpointException(src, "the saved object is a " + RestrictedUnpickler.typeName(root)
                        + ", not a dict of tensors; save model.state_dict()");
            }
            Map<?, ?> chosen = top;
            String entry = "";
            if (options.entry() != null) {
                entry = options.entry();
                Object v = lookup(top, entry);
                if (v == null) {
                    throw new CheckpointException(src, "no entry '" + entry + "' (top-level entries: "
                            + preview(keysOf(top)) + ")");
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw CheckpointException.mismatch(src, null, "entry '" + entry + "'", "a dict of tensors",
                            describe(v));
                }
                chosen = m;
            } else {
                while (!hasDirectTensor(chosen)) {
                    String next = null;
                    for (String k : DEFAULT_ENTRY_PREFERENCE) {
                        if (chosen.get(k) instanceof Map<?, ?> m
                                && containsTensor(src, m, Collections.newSetFromMap(new IdentityHashMap<>()), 0)) {
                            next = k;
                            break;
                        }
                    }
                    if (next == null) break;
                    chosen = (Map<?, ?>) chosen.get(next);
                    entry = entry.isEmpty() ? next : entry + "." + next;
                }
            }
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            Map<String, String> ignored = new LinkedHashMap<>();
            flatten(src, chosen, "", tensors, ignored, Collections.newSetFromMap(new IdentityHashMap<>()), 0);
            if (tensors.isEmpty()) {
                throw new CheckpointException(src, "no tensors found" + (entry.isEmpty() ? "" : " in entry '" + entry + "'")
                        + " (top-level entries: " + preview(keysOf(top)) + ")");
            }
            String stripped = "";
            if (options.stripModulePrefix()) {
                Map<String, TensorData> s = stripPrefix(tensors);
                if (s != null) {
                    tensors = s;
                    stripped = MODULE_PREFIX;
                }
            }
            return new Checkpoint(path, Format.TORCH_ZIP, entry, stripped, tensors, ignored, Map.of(), root, r);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    private static Object lookup(Map<?, ?> top, String entry) {
        if (top.containsKey(entry)) return top.get(entry);
        Object cur = top;
        for (String part : entry.split("\\.", -1)) {
            if (!(cur instanceof Map<?, ?> m) || !m.containsKey(part)) return null;
            cur = m.get(part);
        }
        return cur;
    }

    private static boolean hasDirectTensor(Map<?, ?> m) {
        for (Object v : m.values()) {
            if (v instanceof TensorData) return true;
        }
        return false;
    }

    private static boolean containsTensor(String src, Map<?, ?> m, Set<Object> seen, int depth) {
        if (!seen.add(m)) return false;
        checkDepth(src, depth);
        for (Object v : m.values()) {
            if (v instanceof TensorData) return true;
            if (v instanceof Map<?, ?> sub && containsTensor(src, sub, seen, depth + 1)) return true;
        }
        return false;
    }

    private static void checkDepth(String src, int depth) {
        if (depth > MAX_NESTING) {
            throw new CheckpointException(src, "dicts nested more than " + MAX_NESTING + " deep; a checkpoint never"
                    + " nests that deep, so the file is refused");
        }
    }

    private static void flatten(String src, Map<?, ?> m, String prefix, Map<String, TensorData> out,
                                Map<String, String> ignored, Set<Object> seen, int depth) {
        checkDepth(src, depth);
        if (!seen.add(m)) {
            ignored.put(prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1), "a dict that contains itself");
            return;
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = prefix + keyString(e.getKey());
            Object v = e.getValue();
            if (v instanceof TensorData t) {
                if (out.containsKey(key)) {
                    throw new CheckpointException(src, key, "appears twice after flattening nested dicts with '.'", null);
                }
                if (t instanceof TorchTensor tt) {
                    tt.name(key);
                    tt.validate(key);
                }
                out.put(key, t);
            } else if (v instanceof Map<?, ?> sub && !sub.isEmpty()) {
                flatten(src, sub, key + ".", out, ignored, seen, depth + 1);
            } else {
                ignored.put(key, describe(v));
            }
        }
        seen.remove(m);
    }

    private static String keyString(Object k) {
        if (k instanceof String s) return s;
        if (k instanceof Long || k instanceof BigInteger || k instanceof Boolean) return String.valueOf(k);
        return RestrictedUnpickler.typeName(k);
    }

    /** The same map with {@code module.} removed from every key, or null when some key lacks it. */
    private static Map<String, TensorData> stripPrefix(Map<String, TensorData> tensors) {
        if (tensors.isEmpty()) return null;
        for (String k : tensors.keySet()) {
            if (!k.startsWith(MODULE_PREFIX)) return null;
        }
        Map<String, TensorData> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k.substring(MODULE_PREFIX.length()), v));
        return out;
    }

    /** A short description of a non-tensor value, for {@link Checkpoint#ignored()}. */
    static String describe(Object v) {
        if (v == null) return "None";
        if (v instanceof String s) return "str '" + (s.length() > 40 ? s.substring(0, 37) + "..." : s) + "'";
        if (v instanceof Long || v instanceof BigInteger || v instanceof Double || v instanceof Boolean) {
            return RestrictedUnpickler.typeName(v) + " " + v;
        }
        if (v instanceof Map<?, ?> m) return "dict of " + m.size() + " entries";
        if (v instanceof List<?> l) return RestrictedUnpickler.typeName(l) + " of " + l.size() + " items";
        if (v instanceof Set<?> s) return "set of " + s.size() + " items";
        if (v instanceof byte[] b) return "bytes of length " + b.length;
        if (v instanceof PickledObject p) return p.global() + " object";
        if (v instanceof TensorData t) return "tensor " + t.describe();
        return RestrictedUnpickler.typeName(v);
    }

    private static List<String> keysOf(Map<?, ?> m) {
        List<String> out = new ArrayList<>();
        for (Object k : m.keySet()) out.add(keyString(k));
        return out;
    }

    private static String preview(Collection<String> keys) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (String k : keys) {
            if (i == 10) {
                sb.append(", ... ").append(keys.size() - 10).append(" more");
                break;
            }
            if (i++ > 0) sb.append(", ");
            sb.append(k);
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }
}
