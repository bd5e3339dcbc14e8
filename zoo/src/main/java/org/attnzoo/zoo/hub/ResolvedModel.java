package org.attnzoo.zoo.hub;

/**
 * A registry entry together with one chosen weight version.
 *
 * @param model   the registry entry
 * @param weights the selected weights (the default when only a model name was given)
 */
public record ResolvedModel(ModelEntry model, WeightVersion weights) {

    /** Full tag, e.g. {@code convit_tiny.fb_in1k}. */
    public String tag() {
        return weights.tag();
    }

    /** Architecture name, e.g. {@code convit_tiny}. */
    public String name() {
        return model.name();
    }

    @Override
    public String toString() {
        return tag();
    }
}
