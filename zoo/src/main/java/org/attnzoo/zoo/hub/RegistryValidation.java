package org.attnzoo.zoo.hub;

import org.attnzoo.sdk.model.Preprocessing;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The registry's rules, checked on every index before it is used: names, tags and file names,
 * unique models and tags, hashes, sources, licences, parity statuses with their reasons, and the
 * preprocessing values. A broken entry is a {@link RegistryException} naming it
 * ({@code models[3] (convit_small).weights[0]: ...}).
 */
final class RegistryValidation {
    private RegistryValidation() {
    }


    static void validate(List<ModelEntry> models, String source) {
        if (models == null) {
            throw new RegistryException("registry " + source + ": 'models' is missing");
        }
        Set<String> names = new HashSet<>();
        Set<String> tags = new HashSet<>();
        for (int i = 0; i < models.size(); i++) {
            ModelEntry m = models.get(i);
            String where = "registry " + source + ": models[" + i + "]"
                    + (m != null && m.name() != null ? " (" + m.name() + ")" : "");
            if (m == null) {
                throw new RegistryException(where + ": null entry");
            }
            check(m.name() != null && Registry.NAME.matcher(m.name()).matches(), where,
                    "name must match " + Registry.NAME.pattern() + " (the upstream architecture name, no dots), got " + m.name());
            check(names.add(m.name()), where, "duplicate model name " + m.name());
            check(notBlank(m.family()), where, "family is required");
            check(notBlank(m.variant()), where, "variant is required");
            check(m.paper() != null && notBlank(m.paper().title()) && m.paper().url() != null
                    && m.paper().url().isAbsolute(), where, "paper needs a title and an absolute url");
            check(notBlank(m.codeLicense()), where, "code_license is required");
            check(m.licenseNotice() == null || (notBlank(m.licenseNotice()) && !m.licenseNotice().contains("\n")), where,
                    "license_notice, when present, must be one non-blank line");
            check(m.reportedTop1() == null || (m.reportedTop1() >= 0 && m.reportedTop1() <= 100), where,
                    "reported_top1 must be a percentage in [0, 100]");
            check(m.parity() != null && m.parity().status() != null, where, "parity.status is required");
            check(m.parity().status() != ParityStatus.UNSUPPORTED || notBlank(m.parity().reason()), where,
                    "parity.reason is required when status is unsupported");
            validatePreprocessing(m.preprocessing(), where);
            check(notBlank(m.labels()), where, "labels is required (e.g. imagenet-1k or file:<name>)");
            check(m.weights() != null && !m.weights().isEmpty(), where, "at least one weights entry is required");
            for (int w = 0; w < m.weights().size(); w++) {
                WeightVersion v = m.weights().get(w);
                String vw = where + ".weights[" + w + "]";
                check(v != null, vw, "null entry");
                check(v.tag() != null && Registry.TAG.matcher(v.tag()).matches() && v.tag().startsWith(m.name() + "."), vw,
                        "tag must be '" + m.name() + ".<pretrained tag>', got " + v.tag());
                check(tags.add(v.tag()), vw, "duplicate tag " + v.tag());
                check(notBlank(v.license()), vw, "license is required");
                check(v.files() != null && !v.files().isEmpty(), vw, "at least one file is required");
                Set<String> fileNames = new HashSet<>();
                for (int f = 0; f < v.files().size(); f++) {
                    WeightFile file = v.files().get(f);
                    String fw = vw + ".files[" + f + "]";
                    check(file != null, fw, "null entry");
                    check(file.name() != null && Registry.FILE_NAME.matcher(file.name()).matches(), fw,
                            "name must be a plain file name matching " + Registry.FILE_NAME.pattern() + ", got " + file.name());
                    check(fileNames.add(file.name()), fw, "duplicate file name " + file.name());
                    check(file.format() != null, fw, "format is required");
                    checkHash(file.sha256(), fw);
                    check(file.size() == null || file.size() >= 0, fw, "size must be >= 0");
                    check(file.urls() != null && !file.urls().isEmpty(), fw, "at least one url is required");
                    for (int s = 0; s < file.urls().size(); s++) {
                        WeightSource src = file.urls().get(s);
                        String sw = fw + ".urls[" + s + "]";
                        check(src != null && src.url() != null, sw, "url is required");
                        String scheme = src.scheme();
                        check(src.url().isAbsolute() && (scheme.equals("https") || scheme.equals("http")
                                || scheme.equals("file") || scheme.equals(WeightSource.CLASSPATH)), sw,
                                "url must be an absolute http(s), file or classpath URL, got " + src.url());
                        check(src.name() == null || Registry.FILE_NAME.matcher(src.name()).matches(), sw,
                                "name must be a plain file name, got " + src.name());
                        checkHash(src.sha256(), sw);
                        check(src.size() == null || src.size() >= 0, sw, "size must be >= 0");
                    }
                }
                m.labelsFile().ifPresent(lf -> check(fileNames.contains(lf), vw,
                        "labels refers to file '" + lf + "' which this weights entry does not list"));
            }
        }
    }

    private static void validatePreprocessing(Preprocessing p, String where) {
        check(p != null, where, "preprocessing is required");
        String pw = where + ".preprocessing";
        check(p.inputSize() != null && p.inputSize().length == 3 && java.util.Arrays.stream(p.inputSize()).allMatch(x -> x > 0),
                pw, "input_size must be [C, H, W] with positive integers, got " + java.util.Arrays.toString(p.inputSize()));
        int c = p.inputSize()[0];
        check(p.mean() != null && p.mean().length == c && java.util.Arrays.stream(p.mean()).allMatch(Double::isFinite), pw,
                "mean must have " + c + " values, got " + java.util.Arrays.toString(p.mean()));
        check(p.std() != null && p.std().length == c && java.util.Arrays.stream(p.std()).allMatch(x -> x > 0 && Double.isFinite(x)), pw,
                "std must have " + c + " positive values, got " + java.util.Arrays.toString(p.std()));
        check(p.cropPct() > 0 && p.cropPct() <= 2, pw, "crop_pct must be in (0, 2] (timm uses > 1 to pad), got " + p.cropPct());
        check(p.interpolation() != null, pw, "interpolation is required");
    }

    private static void checkHash(String sha, String where) {
        check(sha == null || Registry.SHA256.matcher(sha).matches(), where,
                "sha256 must be 64 lowercase hex digits or null (unknown), got " + sha);
    }

    private static void check(boolean ok, String where, String what) {
        if (!ok) {
            throw new RegistryException(where + ": " + what);
        }
    }

    private static boolean notBlank(String s) {
        return s != null && !s.isBlank();
    }
}
