package org.attnzoo.spark;

import org.attnzoo.sdk.model.Preprocessing;

import java.io.Serializable;
import java.util.List;

/**
 * What executors need to run a model the driver resolved: where its files are and how to prepare
 * images for it. Plain data, sent with every task.
 *
 * @param key         identifies the model files (path, size and modification time of each on the
 *                    driver): executors keep one session per key and device
 * @param description what the model is, for messages ({@code convit_tiny.fb_in1k} or a file name)
 * @param fileNames   the model's file names, the ONNX file first, then its external data
 * @param shippedNames the names under which {@code SparkContext.addFile} registered the files
 *                    (see {@code SparkFiles.get}); null when executors read {@link #localDir} directly
 * @param localDir    the driver's directory of the files, used as is when the job runs in local mode
 * @param labels      class names by index (may be shorter than the class count, or empty)
 */
record ShippedModel(String key, String description, List<String> fileNames, List<String> shippedNames,
                    String localDir, int[] inputSize, double[] mean, double[] std, double cropPct,
                    String interpolation, String cropMode, List<String> labels) implements Serializable {

    Preprocessing preprocessing() {
        return new Preprocessing(inputSize, mean, std, cropPct, interpolation, cropMode);
    }

    static ShippedModel of(String key, String description, List<String> fileNames, List<String> shippedNames,
                           String localDir, Preprocessing p, List<String> labels) {
        return new ShippedModel(key, description, List.copyOf(fileNames), shippedNames == null ? null : List.copyOf(shippedNames),
                localDir, p.inputSize().clone(), p.mean().clone(), p.std().clone(), p.cropPct(), p.interpolation(),
                p.cropMode(), List.copyOf(labels));
    }
}
