package org.attnzoo.zoo.hub;

import java.nio.file.Path;

/**
 * A converted ONNX model in the cache.
 *
 * @param key       its key
 * @param path      the {@code model.onnx} file (siblings such as external data live next to it)
 * @param sizeBytes total size of its directory
 */
public record ConvertedModel(ConvertedKey key, Path path, long sizeBytes) {
}
