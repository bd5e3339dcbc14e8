package org.attnzoo.spark;

import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The image files under a folder as a Dataset of paths, for {@link ZooImageClassifier} to read
 * itself: the fast input for many small images.
 *
 * <p>Spark's {@code binaryFile} source lists the folder (any Hadoop path; recursive; an optional
 * glob on file names), but only the {@code path} column is selected, so Spark does not read the
 * files: the Transformer reads each one in its task (a local file directly, others through the
 * job's Hadoop file system). That skips Spark's per-file read and the copy of every image's bytes
 * into a row, and lets the listing be cut into a few large partitions instead of the file source's
 * one partition per few dozen small files. For large images either input runs at the model's speed.
 */
public final class ImageFiles {
    private ImageFiles() {
    }

    /**
     * One row per file under {@code folder} (column {@code path}, a URI string), in at most
     * {@code 2 × spark.default.parallelism} partitions.
     *
     * @param glob a file-name pattern such as {@code *.png}, or null for every file
     */
    public static Dataset<Row> paths(SparkSession spark, String folder, String glob) {
        DataFrameReader r = spark.read().format("binaryFile").option("recursiveFileLookup", "true");
        if (glob != null) r = r.option("pathGlobFilter", glob);
        Dataset<Row> listed = r.load(folder).select("path");
        int target = Math.max(1, 2 * spark.sparkContext().defaultParallelism());
        return listed.rdd().getNumPartitions() > target ? listed.coalesce(target) : listed;
    }
}
