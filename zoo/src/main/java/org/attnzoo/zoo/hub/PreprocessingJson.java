package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import org.attnzoo.sdk.model.Preprocessing;

import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * The registry's JSON spelling of the SDK's {@link Preprocessing} (timm's data config keys:
 * {@code input_size}, {@code mean}, {@code std}, {@code crop_pct}, {@code interpolation},
 * {@code crop_mode}). There is one preprocessing type: the one family builders state, the ONNX
 * metadata carries and the image preprocessor runs; this is only how the registry reads and writes
 * it. {@link Registry} validates the values.
 */
public final class PreprocessingJson {
    /** The interpolations the registry accepts (timm's names). */
    public static final Set<String> INTERPOLATIONS = Set.of("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming");
    private static final java.util.List<String> REQUIRED = java.util.List.of("input_size", "mean", "std", "crop_pct", "interpolation");
    private static final Set<String> KEYS = Set.of("input_size", "mean", "std", "crop_pct", "interpolation", "crop_mode");

    /** Register on an ObjectMapper that reads or writes registry entries. */
    public static final SimpleModule MODULE = new SimpleModule("attnzoo-preprocessing")
            .addDeserializer(Preprocessing.class, new Reader())
            .addSerializer(Preprocessing.class, new Writer());

    private PreprocessingJson() {
    }

    static final class Reader extends JsonDeserializer<Preprocessing> {
        @Override
        public Preprocessing deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            JsonNode n = p.readValueAsTree();
            if (n == null || !n.isObject()) return ctxt.reportInputMismatch(Preprocessing.class, "preprocessing must be an object");
            for (String k : REQUIRED) {
                if (!n.hasNonNull(k)) return ctxt.reportInputMismatch(Preprocessing.class, "Missing required property '" + k + "' in preprocessing");
            }
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!KEYS.contains(k)) return ctxt.reportInputMismatch(Preprocessing.class, "Unrecognized field \"" + k + "\" in preprocessing (known: " + KEYS + ")");
            }
            String interp = text(n, "interpolation", ctxt);
            if (interp != null && !INTERPOLATIONS.contains(interp)) {
                return ctxt.reportInputMismatch(Preprocessing.class, "unknown interpolation '" + interp + "' (known: " + INTERPOLATIONS + ")");
            }
            String mode = n.hasNonNull("crop_mode") ? text(n, "crop_mode", ctxt) : Preprocessing.CENTER;
            if (!mode.equals(Preprocessing.CENTER) && !mode.equals(Preprocessing.SQUASH)) {
                return ctxt.reportInputMismatch(Preprocessing.class, "crop_mode must be center or squash, got '" + mode + "'");
            }
            JsonNode crop = n.get("crop_pct");
            if (!crop.isNumber()) return ctxt.reportInputMismatch(Preprocessing.class, "crop_pct must be a number, got " + crop);
            return new Preprocessing(ints(n.get("input_size")), doubles(n.get("mean")), doubles(n.get("std")), crop.asDouble(), interp, mode);
        }

        private static String text(JsonNode n, String key, DeserializationContext ctxt) throws IOException {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual()) return ctxt.reportInputMismatch(Preprocessing.class, key + " must be a string, got " + v);
            return v.asText().toLowerCase(Locale.ROOT);
        }

        private static int[] ints(JsonNode a) {
            if (a == null || !a.isArray()) return null;
            int[] r = new int[a.size()];
            for (int i = 0; i < r.length; i++) r[i] = a.get(i).isIntegralNumber() ? a.get(i).asInt() : -1;
            return r;
        }

        private static double[] doubles(JsonNode a) {
            if (a == null || !a.isArray()) return null;
            double[] r = new double[a.size()];
            for (int i = 0; i < r.length; i++) r[i] = a.get(i).isNumber() ? a.get(i).asDouble() : Double.NaN;
            return r;
        }
    }

    static final class Writer extends JsonSerializer<Preprocessing> {
        @Override
        public void serialize(Preprocessing p, JsonGenerator g, SerializerProvider s) throws IOException {
            g.writeStartObject();
            g.writeFieldName("input_size");
            g.writeArray(p.inputSize(), 0, p.inputSize().length);
            g.writeFieldName("mean");
            g.writeArray(p.mean(), 0, p.mean().length);
            g.writeFieldName("std");
            g.writeArray(p.std(), 0, p.std().length);
            g.writeNumberField("crop_pct", p.cropPct());
            g.writeStringField("interpolation", p.interpolation());
            if (!Preprocessing.CENTER.equals(p.cropMode())) g.writeStringField("crop_mode", p.cropMode());
            g.writeEndObject();
        }
    }
}
