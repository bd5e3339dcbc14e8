package org.attnzoo.spark;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import org.attnzoo.sdk.runtime.Device;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Classifies images with a zoo model, as a Spark ML {@link Transformer}: one row per image, the
 * encoded image bytes in the input column (what {@code spark.read().format("binaryFile")} gives in
 * {@code content}) or, when that column holds strings, the image's path or URI (read with the
 * job's Hadoop file systems).
 *
 * <p>The model is {@link #setModel a zoo name} (converted once, in the driver's zoo cache) or
 * {@link #setModelPath an ONNX file} converted by AttnZoo (its metadata carries the
 * preprocessing). {@link #transform} resolves the model on the driver, so an unknown name fails
 * there, before any task runs, with the zoo's message; it then ships the ONNX file (and its
 * external data) to the executors, where each JVM opens one ONNX Runtime session per model and
 * device, shared by its tasks. Rows run in batches of {@link #setBatchSize batchSize} within a
 * partition, preprocessed as the model card says (the code {@code ImageClassifier} runs).
 *
 * <p>Output columns: {@code labels} (top-k class names) and {@code scores} (their softmax
 * probabilities), optionally {@code indices} and the raw {@code logits}, and {@code error}: null for
 * a classified row; for a row whose image cannot be read or decoded the predictions are null and
 * the error holds a one-line reason; the job goes on.
 *
 * <pre>{@code
 * Dataset<Row> images = spark.read().format("binaryFile").load("images/");
 * Dataset<Row> out = new ZooImageClassifier().setModel("convit_tiny").setTopK(5).transform(images);
 * }</pre>
 */
public final class ZooImageClassifier extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;

    private final Param<String> inputCol;
    private final Param<String> model;
    private final Param<String> modelPath;
    private final Param<String> cacheDir;
    private final IntParam topK;
    private final IntParam batchSize;
    private final Param<String> device;
    private final IntParam intraOpThreads;
    private final Param<String> labelsCol;
    private final Param<String> scoresCol;
    private final Param<String> indicesCol;
    private final Param<String> logitsCol;
    private final Param<String> errorCol;
    private final BooleanParam keepInput;

    public ZooImageClassifier() {
        this(Identifiable$.MODULE$.randomUID("zooImageClassifier"));
    }

    public ZooImageClassifier(String uid) {
        this.uid = uid;
        inputCol = new Param<>(this, "inputCol", "column of encoded image bytes (binary) or image paths/URIs (string)");
        model = new Param<>(this, "model", "zoo model name or name.tag (resolved and converted on the driver); or set modelPath");
        modelPath = new Param<>(this, "modelPath", "an ONNX file converted by AttnZoo, on the driver's file system; or set model");
        cacheDir = new Param<>(this, "cacheDir", "the driver's zoo cache directory; empty: ATTNZOO_HOME or ~/.cache/attnzoo");
        topK = new IntParam(this, "topK", "how many classes per image (>= 1)", ParamValidators.gtEq(1));
        batchSize = new IntParam(this, "batchSize", "images per ONNX Runtime run within a partition (>= 1)", ParamValidators.gtEq(1));
        device = new Param<>(this, "device", "cpu, cuda, cuda:N or auto (CUDA when it loads, else CPU)",
                ZooImageClassifier::validDevice);
        intraOpThreads = new IntParam(this, "intraOpThreads",
                "ONNX Runtime intra-op threads of each executor's session (0: ONNX Runtime's default, one per core)", ParamValidators.gtEq(0));
        labelsCol = new Param<>(this, "labelsCol", "output column: the top-k labels (array<string>)");
        scoresCol = new Param<>(this, "scoresCol", "output column: the top-k softmax probabilities (array<float>)");
        indicesCol = new Param<>(this, "indicesCol", "output column: the top-k class indices (array<int>); empty: none");
        logitsCol = new Param<>(this, "logitsCol", "output column: all raw logits (array<float>); empty: none");
        errorCol = new Param<>(this, "errorCol", "output column: null, or why the row's image could not be classified");
        keepInput = new BooleanParam(this, "keepInput", "keep the input column in the output (false drops it, e.g. image bytes)");
        setDefault(inputCol, "content");
        setDefault(model, "");
        setDefault(modelPath, "");
        setDefault(cacheDir, "");
        setDefault(topK, (Object) 5);
        setDefault(batchSize, (Object) 16);
        setDefault(device, "cpu");
        setDefault(intraOpThreads, (Object) 0);
        setDefault(labelsCol, "labels");
        setDefault(scoresCol, "scores");
        setDefault(indicesCol, "");
        setDefault(logitsCol, "");
        setDefault(errorCol, "error");
        setDefault(keepInput, (Object) true);
    }

    private static boolean validDevice(String s) {
        try {
            Device.parse(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String uid() {
        return uid;
    }

    // ---------------------------------------------------------------- params (Spark finds them by these getters)

    public Param<String> inputCol() { return inputCol; }
    public Param<String> model() { return model; }
    public Param<String> modelPath() { return modelPath; }
    public Param<String> cacheDir() { return cacheDir; }
    public IntParam topK() { return topK; }
    public IntParam batchSize() { return batchSize; }
    public Param<String> device() { return device; }
    public IntParam intraOpThreads() { return intraOpThreads; }
    public Param<String> labelsCol() { return labelsCol; }
    public Param<String> scoresCol() { return scoresCol; }
    public Param<String> indicesCol() { return indicesCol; }
    public Param<String> logitsCol() { return logitsCol; }
    public Param<String> errorCol() { return errorCol; }
    public BooleanParam keepInput() { return keepInput; }

    public String getInputCol() { return $(inputCol); }
    public String getModel() { return $(model); }
    public String getModelPath() { return $(modelPath); }
    public String getCacheDir() { return $(cacheDir); }
    public int getTopK() { return (Integer) $(topK); }
    public int getBatchSize() { return (Integer) $(batchSize); }
    public String getDevice() { return $(device); }
    public int getIntraOpThreads() { return (Integer) $(intraOpThreads); }
    public String getLabelsCol() { return $(labelsCol); }
    public String getScoresCol() { return $(scoresCol); }
    public String getIndicesCol() { return $(indicesCol); }
    public String getLogitsCol() { return $(logitsCol); }
    public String getErrorCol() { return $(errorCol); }
    public boolean getKeepInput() { return (Boolean) $(keepInput); }

    public ZooImageClassifier setInputCol(String v) { set(inputCol, v); return this; }
    /** A zoo model name or {@code name.tag}; clears {@link #setModelPath modelPath}. */
    public ZooImageClassifier setModel(String v) { set(model, v); set(modelPath, ""); return this; }
    /** An ONNX file converted by AttnZoo; clears {@link #setModel model}. */
    public ZooImageClassifier setModelPath(String v) { set(modelPath, v); set(model, ""); return this; }
    public ZooImageClassifier setCacheDir(String v) { set(cacheDir, v); return this; }
    public ZooImageClassifier setTopK(int v) { set(topK, (Object) v); return this; }
    public ZooImageClassifier setBatchSize(int v) { set(batchSize, (Object) v); return this; }
    public ZooImageClassifier setDevice(String v) { set(device, v); return this; }
    public ZooImageClassifier setIntraOpThreads(int v) { set(intraOpThreads, (Object) v); return this; }
    public ZooImageClassifier setLabelsCol(String v) { set(labelsCol, v); return this; }
    public ZooImageClassifier setScoresCol(String v) { set(scoresCol, v); return this; }
    public ZooImageClassifier setIndicesCol(String v) { set(indicesCol, v); return this; }
    public ZooImageClassifier setLogitsCol(String v) { set(logitsCol, v); return this; }
    public ZooImageClassifier setErrorCol(String v) { set(errorCol, v); return this; }
    public ZooImageClassifier setKeepInput(boolean v) { set(keepInput, (Object) v); return this; }

    // ---------------------------------------------------------------- Transformer

    @Override
    public StructType transformSchema(StructType schema) {
        String in = getInputCol();
        if (!Arrays.asList(schema.fieldNames()).contains(in)) {
            throw new IllegalArgumentException("input column '" + in + "' not found; columns: " + Arrays.toString(schema.fieldNames()));
        }
        DataType t = schema.apply(in).dataType();
        if (!t.equals(DataTypes.BinaryType) && !t.equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("input column '" + in + "' is " + t.simpleString()
                    + "; expected binary (image bytes) or string (image paths)");
        }
        List<StructField> fields = new ArrayList<>();
        for (StructField f : schema.fields()) {
            if (getKeepInput() || !f.name().equals(in)) fields.add(f);
        }
        List<String> names = new ArrayList<>();
        for (StructField f : fields) names.add(f.name());
        for (StructField f : outputFields()) {
            if (names.contains(f.name())) {
                throw new IllegalArgumentException("output column '" + f.name() + "' already exists; choose another name with its setter");
            }
            names.add(f.name());
            fields.add(f);
        }
        return new StructType(fields.toArray(new StructField[0]));
    }

    private List<StructField> outputFields() {
        List<StructField> out = new ArrayList<>();
        out.add(DataTypes.createStructField(getLabelsCol(), new ArrayType(DataTypes.StringType, false), true));
        out.add(DataTypes.createStructField(getScoresCol(), new ArrayType(DataTypes.FloatType, false), true));
        if (!getIndicesCol().isEmpty()) {
            out.add(DataTypes.createStructField(getIndicesCol(), new ArrayType(DataTypes.IntegerType, false), true));
        }
        if (!getLogitsCol().isEmpty()) {
            out.add(DataTypes.createStructField(getLogitsCol(), new ArrayType(DataTypes.FloatType, false), true));
        }
        out.add(DataTypes.createStructField(getErrorCol(), DataTypes.StringType, true));
        return out;
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType outSchema = transformSchema(dataset.schema());
        SparkSession spark = dataset.sparkSession();
        // on the driver, before any task: resolve (an unknown name throws the zoo's exception here), convert, ship
        ShippedModel shipped = DriverModels.resolveAndShip(spark.sparkContext(), getModel(), getModelPath(), getCacheDir());
        int inputIndex = dataset.schema().fieldIndex(getInputCol());
        boolean paths = dataset.schema().apply(getInputCol()).dataType().equals(DataTypes.StringType);
        Broadcast<SerializableConfiguration> hadoop = null;
        if (paths) {
            hadoop = JavaSparkContext.fromSparkContext(spark.sparkContext())
                    .broadcast(new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
        }
        ClassifyPartition fn = new ClassifyPartition(shipped, new ClassifyPartition.Options(
                inputIndex, paths, getKeepInput(), getTopK(), getBatchSize(), getDevice(), getIntraOpThreads(),
                !getIndicesCol().isEmpty(), !getLogitsCol().isEmpty()), hadoop);
        return dataset.toDF().mapPartitions(fn, Encoders.row(outSchema));
    }

    @Override
    public ZooImageClassifier copy(ParamMap extra) {
        return (ZooImageClassifier) defaultCopy(extra);
    }

    // ---------------------------------------------------------------- MLReadable (static, as Pipeline loading looks it up)

    public static MLReader<ZooImageClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static ZooImageClassifier load(String path) {
        return read().load(path);
    }
}
