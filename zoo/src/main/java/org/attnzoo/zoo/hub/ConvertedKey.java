package org.attnzoo.zoo.hub;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Identifies a converted ONNX model in the cache: which weights, which converter build, which
 * opset and which precision. Stored at
 * {@code converted/<tag>/<converterVersion>/opset<opset>-<precision>/model.onnx}.
 *
 * @param tag              full weights tag, e.g. {@code convit_tiny.fb_in1k}
 * @param converterVersion version of the converter that produced it (bump to invalidate)
 * @param opset            ONNX default-domain opset
 * @param precision        e.g. {@code fp32}, {@code fp16}, {@code int8}
 */
public record ConvertedKey(String tag, String converterVersion, int opset, String precision) {

    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.+\\-]*");

    public ConvertedKey {
        safe("tag", tag);
        safe("converterVersion", converterVersion);
        safe("precision", precision);
        if (opset < 1 || opset > 999) {
            throw new IllegalArgumentException("opset out of range: " + opset);
        }
    }

    /** The directory name below the converter version, e.g. {@code opset17-fp32}. */
    public String slotName() {
        return "opset" + opset + "-" + precision;
    }

    /** Parses {@link #slotName()}; null when the name is not a slot. */
    static ConvertedKey parse(String tag, String converterVersion, String slot) {
        var m = Pattern.compile("opset(\\d{1,3})-(.+)").matcher(slot);
        if (!m.matches()) {
            return null;
        }
        try {
            return new ConvertedKey(tag, converterVersion, Integer.parseInt(m.group(1)), m.group(2));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static void safe(String what, String v) {
        Objects.requireNonNull(v, what);
        if (!SAFE.matcher(v).matches() || v.contains("..")) {
            throw new IllegalArgumentException(what + " must be path-safe ([A-Za-z0-9_.+-], no '..'), got '" + v + "'");
        }
    }

    @Override
    public String toString() {
        return tag + "@" + converterVersion + "/" + slotName();
    }
}
