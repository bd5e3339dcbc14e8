package org.attnzoo.zoo.hub;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A model whose files are all present and verified in the cache.
 *
 * @param model the registry entry and weights
 * @param files the cached files, in registry order (weights first)
 */
public record FetchedModel(ResolvedModel model, List<CachedFile> files) {

    public FetchedModel {
        files = List.copyOf(files);
    }

    /** Full weights tag. */
    public String tag() {
        return model.tag();
    }

    /** The first file of the weights entry (the weights by convention). */
    public CachedFile weights() {
        return files.get(0);
    }

    /** Path of {@link #weights()}. */
    public Path weightsPath() {
        return weights().path();
    }

    /** The file with this logical name. */
    public Optional<CachedFile> file(String name) {
        return files.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    /** The labels file when the registry entry names one ({@code labels: "file:<name>"}). */
    public Optional<CachedFile> labelsFile() {
        return model.model().labelsFile().flatMap(this::file);
    }
}
