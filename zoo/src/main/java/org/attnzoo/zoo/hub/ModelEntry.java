package org.attnzoo.zoo.hub;

import org.attnzoo.sdk.model.Preprocessing;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Optional;

/**
 * A registry entry: one architecture (upstream name) with its metadata and weight versions.
 * See the {@linkplain org.attnzoo.zoo.hub package documentation} for the JSON schema.
 *
 * @param name          upstream (timm) architecture name, e.g. {@code convit_tiny}; no dots
 * @param family        family id, e.g. {@code convit}
 * @param variant       variant within the family, e.g. {@code tiny}
 * @param paper         source paper
 * @param codeLicense   licence of the upstream reference code
 * @param reportedTop1  ImageNet-1k top-1 (%) reported upstream for the default weights, or null
 * @param parity        parity status of our ONNX build
 * @param preprocessing reference evaluation preprocessing
 * @param labels        label set id (e.g. {@code imagenet-1k}) or {@code file:<name>} naming a
 *                      file present in every weight version
 * @param weights       weight versions; the first is the default
 * @param licenseNotice optional one-line notice a user must see before using the model (e.g. a
 *                      non-commercial licence); {@code info} shows it and {@code pull} / {@code run}
 *                      print it on stderr first; null for none
 */
public record ModelEntry(
        @JsonProperty(value = "name", required = true) String name,
        @JsonProperty(value = "family", required = true) String family,
        @JsonProperty(value = "variant", required = true) String variant,
        @JsonProperty(value = "paper", required = true) Paper paper,
        @JsonProperty(value = "code_license", required = true) String codeLicense,
        @JsonProperty("reported_top1") Double reportedTop1,
        @JsonProperty(value = "parity", required = true) Parity parity,
        @JsonProperty(value = "preprocessing", required = true) Preprocessing preprocessing,
        @JsonProperty(value = "labels", required = true) String labels,
        @JsonProperty(value = "weights", required = true) List<WeightVersion> weights,
        @JsonProperty("license_notice") @JsonInclude(JsonInclude.Include.NON_NULL) String licenseNotice) {

    /** Prefix of a {@link #labels()} value that names a file shipped with the weights. */
    public static final String LABELS_FILE_PREFIX = "file:";

    public ModelEntry {
        weights = weights == null ? null : List.copyOf(weights);
    }

    /** An entry without a licence notice. */
    public ModelEntry(String name, String family, String variant, Paper paper, String codeLicense, Double reportedTop1,
                      Parity parity, Preprocessing preprocessing, String labels, List<WeightVersion> weights) {
        this(name, family, variant, paper, codeLicense, reportedTop1, parity, preprocessing, labels, weights, null);
    }

    /** The default weights (first listed). */
    public WeightVersion defaultWeights() {
        return weights.get(0);
    }

    /** The weights with full tag {@code tag} or short tag (after the dot). */
    public Optional<WeightVersion> weights(String tag) {
        for (WeightVersion v : weights) {
            if (v.tag().equals(tag) || v.shortTag().equals(tag)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    /** All full tags, default first. */
    public List<String> tags() {
        return weights.stream().map(WeightVersion::tag).toList();
    }

    /** The labels file name when {@link #labels()} is {@code file:<name>}. */
    public Optional<String> labelsFile() {
        return labels != null && labels.startsWith(LABELS_FILE_PREFIX)
                ? Optional.of(labels.substring(LABELS_FILE_PREFIX.length()))
                : Optional.empty();
    }
}
