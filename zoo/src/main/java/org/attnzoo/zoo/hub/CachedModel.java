package org.attnzoo.zoo.hub;

import java.util.List;

/**
 * Everything the cache holds for one weights tag.
 *
 * @param tag       weights tag
 * @param files     indexed weight files
 * @param converted converted ONNX models
 * @param sizeBytes bytes used by its files (distinct blobs) and converted models
 */
public record CachedModel(String tag, List<CachedFile> files, List<ConvertedModel> converted, long sizeBytes) {

    public CachedModel {
        files = List.copyOf(files);
        converted = List.copyOf(converted);
    }
}
