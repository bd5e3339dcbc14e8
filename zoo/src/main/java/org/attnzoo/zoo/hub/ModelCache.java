package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The local model cache: content-addressed weight blobs, a per-tag index, pinned hashes and
 * converted ONNX models. Safe to share between threads and processes.
 *
 * <p>Root: the constructor argument, else {@value Env#HOME_VAR}, else {@code ~/.cache/attnzoo}.
 * Layout:
 * <pre>
 * &lt;root&gt;/
 *   blobs/sha256/&lt;hex&gt;              weight files, named by their SHA-256
 *   blobs/sha256/&lt;hex&gt;.part         partial download of a file whose hash is known (resumable)
 *   blobs/sha256/&lt;hex&gt;.part.json    resume validators (URL, ETag/Last-Modified) for that part
 *   blobs/incoming/url-&lt;k&gt;.part      partial download of a file whose hash is not known yet
 *   models/&lt;tag&gt;/index.json          logical file name -&gt; blob hash, source, format, ...
 *   pins.json                         URL -&gt; hash pinned at first download (trust on first use)
 *   converted/&lt;tag&gt;/&lt;converter version&gt;/opset&lt;N&gt;-&lt;precision&gt;/model.onnx
 *   locks/*.lock                      inter-process locks (never deleted)
 * </pre>
 *
 * <p>Weights are fetched into the cache by {@link Downloader}/{@link ModelHub}; this class owns
 * the layout and the maintenance operations ({@link #ls()}, {@link #rm(String)}, {@link #gc()},
 * {@link #verify()}) and the converted-model slots ({@link #convertedPath(ConvertedKey)},
 * {@link #putConverted(ConvertedKey, ConvertedWriter)}).
 */
public final class ModelCache {

    /** Writes a converted model to the path it is given (may add sibling files, e.g. external data). */
    @FunctionalInterface
    public interface ConvertedWriter {
        void write(Path onnxFile) throws IOException;
    }

    /** File name of a converted model inside its slot directory. */
    public static final String CONVERTED_FILE = "model.onnx";

    static final Duration META_LOCK_TIMEOUT = Duration.ofMinutes(5);
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final ObjectMapper JSON = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private final Path root;
    private final Path blobs;
    private final Path incoming;
    private final Path models;
    private final Path converted;
    private final ConvertedStore convertedStore;
    private final Path locks;
    private final Path pinsFile;

    // ------------------------------------------------------------------ on-disk JSON shapes

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record IndexJson(@JsonProperty("version") int version,
                     @JsonProperty("tag") String tag,
                     @JsonProperty("files") Map<String, EntryJson> files) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record EntryJson(@JsonProperty("sha256") String sha256,
                     @JsonProperty("size") long size,
                     @JsonProperty("source") String source,
                     @JsonProperty("fetched_from") String fetchedFrom,
                     @JsonProperty("source_name") String sourceName,
                     @JsonProperty("format") WeightFormat format,
                     @JsonProperty("wrapping_key") String wrappingKey,
                     @JsonProperty("pinned") boolean pinned,
                     @JsonProperty("fetched_at") String fetchedAt,
                     @JsonProperty("verified_mtime_ns") Long verifiedMtimeNs) {
        EntryJson withStamp(Long mtimeNs) {
            return new EntryJson(sha256, size, source, fetchedFrom, sourceName, format, wrappingKey, pinned, fetchedAt, mtimeNs);
        }
    }

    record PinsJson(@JsonProperty("version") int version, @JsonProperty("pins") Map<String, PinJson> pins) {
    }

    record PinJson(@JsonProperty("sha256") String sha256, @JsonProperty("size") long size,
                   @JsonProperty("tag") String tag, @JsonProperty("file") String file,
                   @JsonProperty("pinned_at") String pinnedAt) {
        Pin toPin() {
            return new Pin(sha256, size, tag, file, pinnedAt == null ? null : Instant.parse(pinnedAt));
        }
    }

    // ------------------------------------------------------------------ construction

    /** A cache rooted at {@code root} (created lazily). */
    public ModelCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.blobs = this.root.resolve("blobs").resolve("sha256");
        this.incoming = this.root.resolve("blobs").resolve("incoming");
        this.models = this.root.resolve("models");
        this.converted = this.root.resolve("converted");
        this.convertedStore = new ConvertedStore(converted, this::lockPath);
        this.locks = this.root.resolve("locks");
        this.pinsFile = this.root.resolve("pins.json");
    }

    /** The cache at {@link #defaultRoot(Env)}. */
    public static ModelCache fromEnv(Env env) {
        return new ModelCache(defaultRoot(env));
    }

    /** {@value Env#HOME_VAR} if set, else {@code <user home>/.cache/attnzoo}. */
    public static Path defaultRoot(Env env) {
        return env.get(Env.HOME_VAR).map(Path::of).orElseGet(() -> env.userHome().resolve(".cache").resolve("attnzoo"));
    }

    /** The cache root. */
    public Path root() {
        return root;
    }

    /** Where the blob with this hash lives (whether or not it exists). */
    public Path blobPath(String sha256) {
        if (sha256 == null || !HEX64.matcher(sha256).matches()) {
            throw new IllegalArgumentException("not a lowercase hex sha256: " + sha256);
        }
        return blobs.resolve(sha256);
    }

    // ------------------------------------------------------------------ index queries

    /** The index entry for {@code tag}/{@code fileName}, if any (the blob may have been deleted since). */
    public Optional<CachedFile> lookup(String tag, String fileName) {
        return Optional.ofNullable(readIndex(tag).get(fileName)).map(e -> toCachedFile(tag, fileName, e));
    }

    /** All index entries of {@code tag}. */
    public List<CachedFile> lookup(String tag) {
        List<CachedFile> out = new ArrayList<>();
        readIndex(tag).forEach((name, e) -> out.add(toCachedFile(tag, name, e)));
        return out;
    }

    /** All pins, by URL. */
    public Map<String, Pin> pins() {
        Map<String, Pin> out = new TreeMap<>();
        readPins().forEach((url, p) -> out.put(url, p.toPin()));
        return out;
    }

    /** The pin for a source URL, if one was recorded. */
    public Optional<Pin> pin(URI url) {
        return Optional.ofNullable(readPins().get(url.toString())).map(PinJson::toPin);
    }

    /**
     * Forgets the pinned hash of {@code url} (after a legitimate upstream change); the next
     * download pins the new content.
     *
     * @return true when a pin was removed
     */
    public boolean unpin(URI url) throws IOException {
        try (CacheLock l = lockMeta()) {
            Map<String, PinJson> pins = new TreeMap<>(readPins());
            if (pins.remove(url.toString()) == null) {
                return false;
            }
            writeJson(pinsFile, new PinsJson(1, pins));
            return true;
        }
    }

    // ------------------------------------------------------------------ maintenance

    /** Every cached tag with its files and converted models, sorted by tag. */
    public List<CachedModel> ls() throws IOException {
        Set<String> tags = new java.util.TreeSet<>();
        tags.addAll(childDirs(models));
        tags.addAll(childDirs(converted));
        List<CachedModel> out = new ArrayList<>();
        for (String tag : tags) {
            List<CachedFile> files = lookup(tag);
            List<ConvertedModel> conv = listConverted(tag);
            long size = 0;
            Set<String> seen = new HashSet<>();
            for (CachedFile f : files) {
                if (seen.add(f.sha256()) && Files.isRegularFile(f.path())) {
                    size += Files.size(f.path());
                }
            }
            for (ConvertedModel c : conv) {
                size += c.sizeBytes();
            }
            if (!files.isEmpty() || !conv.isEmpty()) {
                out.add(new CachedModel(tag, files, conv, size));
            }
        }
        return out;
    }

    /**
     * Removes cached tags: their index, their converted models, and every blob no other tag
     * references. Pins are kept (so a re-download is still checked against them).
     *
     * @param tagOrPattern a full tag ({@code convit_tiny.fb_in1k}), a model name (all its tags)
     *                     or a wildcard pattern ({@code convit_*})
     */
    public RmReport rm(String tagOrPattern) throws IOException {
        String pat = tagOrPattern.trim();
        if (pat.indexOf('.') < 0 && pat.indexOf('*') < 0 && pat.indexOf('?') < 0) {
            pat = pat + ".*";
        }
        Pattern p = Registry.glob(pat);
        try (CacheLock l = lockMeta()) {
            Set<String> tags = new java.util.TreeSet<>();
            for (String t : childDirs(models)) {
                if (p.matcher(t).matches()) {
                    tags.add(t);
                }
            }
            for (String t : childDirs(converted)) {
                if (p.matcher(t).matches()) {
                    tags.add(t);
                }
            }
            Set<String> candidates = new HashSet<>();
            long freed = 0;
            for (String t : tags) {
                readIndex(t).values().forEach(e -> candidates.add(e.sha256()));
                freed += deleteTree(models.resolve(t));
                freed += deleteTree(converted.resolve(t));
            }
            Set<String> stillUsed = referencedBlobs();
            int removed = 0;
            for (String sha : candidates) {
                if (!stillUsed.contains(sha)) {
                    long n = deleteBlobIfUnlocked(sha);
                    if (n >= 0) {
                        removed++;
                        freed += n;
                    }
                }
            }
            return new RmReport(new ArrayList<>(tags), removed, freed);
        }
    }

    /**
     * Deletes blobs no index references, leftover partial downloads that no process is writing,
     * and temporary files and directories from interrupted writes.
     */
    public GcReport gc() throws IOException {
        try (CacheLock l = lockMeta()) {
            Set<String> used = referencedBlobs();
            int blobsRemoved = 0;
            int tempRemoved = 0;
            long freed = 0;
            for (Path f : children(blobs)) {
                String n = f.getFileName().toString();
                if (HEX64.matcher(n).matches()) {
                    if (!used.contains(n)) {
                        long s = deleteBlobIfUnlocked(n);
                        if (s >= 0) {
                            blobsRemoved++;
                            freed += s;
                        }
                    }
                } else {
                    long s = deleteTempIfUnlocked(f);
                    if (s >= 0) {
                        tempRemoved++;
                        freed += s;
                    }
                }
            }
            for (Path f : children(incoming)) {
                long s = deleteTempIfUnlocked(f);
                if (s >= 0) {
                    tempRemoved++;
                    freed += s;
                }
            }
            for (String tag : childDirs(models)) {
                Path dir = models.resolve(tag);
                for (Path f : children(dir)) {
                    if (f.getFileName().toString().endsWith(".tmp")) {
                        freed += deleteTree(f);
                        tempRemoved++;
                    }
                }
                if (!Files.exists(dir.resolve("index.json")) && children(dir).isEmpty()) {
                    Files.deleteIfExists(dir);
                }
            }
            for (Path f : children(root)) {
                if (f.getFileName().toString().endsWith(".tmp")) {
                    freed += deleteTree(f);
                    tempRemoved++;
                }
            }
            for (String tag : childDirs(converted)) {
                for (String cv : childDirs(converted.resolve(tag))) {
                    Path cvDir = converted.resolve(tag).resolve(cv);
                    for (Path d : children(cvDir)) {
                        String n = d.getFileName().toString();
                        if (n.startsWith(".tmp-") || n.startsWith(".old-")) {
                            String lockKey = n.substring(5).split("-", 2)[0];
                            Optional<CacheLock> held = CacheLock.tryAcquire(lockPath(lockKey), "gc");
                            if (held.isPresent()) {
                                try (CacheLock h = held.get()) {
                                    freed += deleteTree(d);
                                    tempRemoved++;
                                }
                            }
                        }
                    }
                }
            }
            return new GcReport(blobsRemoved, tempRemoved, freed);
        }
    }

    /** {@link #verify(boolean) verify(false)}: report only. */
    public VerifyReport verify() throws IOException {
        return verify(false);
    }

    /**
     * Re-hashes every blob and checks every index entry. A blob whose content does not hash to
     * its name is CORRUPT; an index entry without its blob is MISSING. Either way the next fetch
     * of that tag downloads the file again.
     *
     * @param removeCorrupt also delete corrupt blobs
     */
    public VerifyReport verify(boolean removeCorrupt) throws IOException {
        Map<String, List<String>> refs = new HashMap<>();
        for (String tag : childDirs(models)) {
            readIndex(tag).forEach((name, e) -> refs.computeIfAbsent(e.sha256(), k -> new ArrayList<>()).add(tag + "/" + name));
        }
        List<VerifyReport.Problem> problems = new ArrayList<>();
        int checked = 0;
        long bytes = 0;
        Set<String> present = new HashSet<>();
        for (Path f : children(blobs)) {
            String n = f.getFileName().toString();
            if (!HEX64.matcher(n).matches() || !Files.isRegularFile(f)) {
                continue;
            }
            present.add(n);
            String actual = Hashing.sha256Hex(f);
            checked++;
            bytes += Files.size(f);
            if (!actual.equals(n)) {
                boolean removed = false;
                if (removeCorrupt) {
                    try (CacheLock l = lockMeta()) {
                        removed = deleteBlobIfUnlocked(n) >= 0;
                    }
                }
                problems.add(new VerifyReport.Problem(VerifyReport.Kind.CORRUPT, f, n, actual,
                        refs.getOrDefault(n, List.of()), removed));
            }
        }
        for (Map.Entry<String, List<String>> e : refs.entrySet()) {
            if (!present.contains(e.getKey())) {
                problems.add(new VerifyReport.Problem(VerifyReport.Kind.MISSING, blobs.resolve(e.getKey()), e.getKey(), null,
                        e.getValue(), false));
            }
        }
        return new VerifyReport(checked, bytes, problems);
    }

    /**
     * Copies the cached files of {@code tag} into a mirror directory, laid out as
     * {@code <mirrorDir>/<tag>/<source file name>} - the layout {@value Env#MIRROR_VAR} expects -
     * so an offline machine can use the directory as a {@code file:} mirror.
     *
     * @return the files written
     */
    public List<Path> exportTo(String tag, Path mirrorDir) throws IOException {
        List<Path> out = new ArrayList<>();
        for (CachedFile f : lookup(tag)) {
            if (!Files.isRegularFile(f.path())) {
                throw new NoSuchFileException(f.path().toString(), null, "blob of " + tag + "/" + f.name() + " is missing");
            }
            Path dst = mirrorDir.resolve(tag).resolve(f.sourceName());
            Files.createDirectories(dst.getParent());
            Path tmp = dst.resolveSibling(dst.getFileName() + "." + uniq() + ".tmp");
            Files.copy(f.path(), tmp, StandardCopyOption.REPLACE_EXISTING);
            move(tmp, dst);
            out.add(dst);
        }
        return out;
    }

    // ------------------------------------------------------------------ converted models

    /** Where the converted model for {@code key} lives (whether or not it exists). */
    public Path convertedPath(ConvertedKey key) {
        return convertedStore.path(key);
    }

    /** The converted model for {@code key} if it is present. */
    public Optional<Path> findConverted(ConvertedKey key) {
        return convertedStore.find(key);
    }

    /**
     * Stores a converted model atomically: {@code writer} writes into a fresh temporary directory,
     * which is then renamed into place, so readers never see a half-written model. Replaces an
     * existing one.
     *
     * @return the final {@code model.onnx} path
     */
    public Path putConverted(ConvertedKey key, ConvertedWriter writer) throws IOException {
        return convertedStore.put(key, writer);
    }

    /** Stores a copy of an existing ONNX file (see {@link #putConverted(ConvertedKey, ConvertedWriter)}). */
    public Path putConverted(ConvertedKey key, Path onnxFile) throws IOException {
        return putConverted(key, dst -> Files.copy(onnxFile, dst, StandardCopyOption.REPLACE_EXISTING));
    }

    /**
     * Returns the converted model for {@code key}, running {@code writer} first if it is not
     * cached. Concurrent callers (threads or processes) for the same key convert only once.
     */
    public Path convertedOrCreate(ConvertedKey key, ConvertedWriter writer) throws IOException {
        return convertedStore.getOrCreate(key, writer);
    }

    private List<ConvertedModel> listConverted(String tag) throws IOException {
        return convertedStore.list(tag);
    }

    // ------------------------------------------------------------------ used by Downloader

    /** Partial-download file for a key: a hex hash, or {@code url-...} for unknown hashes. */
    Path partPath(String key) {
        return (HEX64.matcher(key).matches() ? blobs : incoming).resolve(key + ".part");
    }

    Path lockPath(String key) {
        return locks.resolve(key + ".lock");
    }

    CacheLock lockDownload(String key, Duration timeout, String purpose, Consumer<String> onWait) throws IOException {
        return CacheLock.acquire(lockPath(key), timeout, purpose, onWait);
    }

    CacheLock lockMeta() throws IOException {
        return CacheLock.acquire(lockPath("meta"), META_LOCK_TIMEOUT, "updating the cache index", m -> { });
    }

    /** State of a cached file. */
    enum BlobState { OK, MISSING, CORRUPT }

    /** Result of {@link #checkCached}. */
    record BlobCheck(BlobState state, CachedFile file, String actual) {
    }

    /**
     * Checks the blob behind an index entry. {@link VerifyMode#QUICK} re-hashes only when size or
     * mtime changed since the last verification; a successful re-hash refreshes the stamp.
     */
    BlobCheck checkCached(String tag, String fileName, VerifyMode mode) throws IOException {
        EntryJson e = readIndex(tag).get(fileName);
        if (e == null) {
            return new BlobCheck(BlobState.MISSING, null, null);
        }
        CachedFile cf = toCachedFile(tag, fileName, e);
        Path blob = cf.path();
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(blob, BasicFileAttributes.class);
        } catch (NoSuchFileException ex) {
            return new BlobCheck(BlobState.MISSING, cf, null);
        }
        long mtime = attrs.lastModifiedTime().to(TimeUnit.NANOSECONDS);
        if (mode == VerifyMode.QUICK && attrs.size() == e.size() && e.verifiedMtimeNs() != null
                && e.verifiedMtimeNs() == mtime) {
            return new BlobCheck(BlobState.OK, cf, e.sha256());
        }
        if (attrs.size() != e.size()) {
            return new BlobCheck(BlobState.CORRUPT, cf, "size " + attrs.size() + " instead of " + e.size());
        }
        String actual = Hashing.sha256Hex(blob);
        if (!actual.equals(e.sha256())) {
            return new BlobCheck(BlobState.CORRUPT, cf, actual);
        }
        if (e.verifiedMtimeNs() == null || e.verifiedMtimeNs() != mtime) {
            try (CacheLock l = lockMeta()) {
                Map<String, EntryJson> idx = new TreeMap<>(readIndex(tag));
                EntryJson cur = idx.get(fileName);
                if (cur != null && cur.sha256().equals(e.sha256())) {
                    idx.put(fileName, cur.withStamp(mtime));
                    writeIndex(tag, idx);
                }
            }
        }
        return new BlobCheck(BlobState.OK, cf, actual);
    }

    /** Deletes a blob (corrupt) and the index entry pointing at it for this tag/file. */
    void discard(String tag, String fileName, String sha256) throws IOException {
        try (CacheLock l = lockMeta()) {
            Map<String, EntryJson> idx = new TreeMap<>(readIndex(tag));
            EntryJson cur = idx.get(fileName);
            if (cur != null && cur.sha256().equals(sha256)) {
                idx.remove(fileName);
                writeIndex(tag, idx);
            }
            Files.deleteIfExists(blobPath(sha256));
        }
    }

    /**
     * Moves a completed, hash-checked part file into the blob store and records it in the index
     * (and in the pins when {@code pinNew}), all under the meta lock so that {@link #gc()} never
     * sees an unreferenced fresh blob.
     *
     * @throws ChecksumMismatchException when {@code pinNew} but a different hash was pinned meanwhile
     */
    CachedFile commit(String tag, String fileName, WeightSource src, URI fetchedFrom, Path part, String sha, long size,
                      boolean pinNew) throws IOException {
        try (CacheLock l = lockMeta()) {
            if (pinNew) {
                Map<String, PinJson> pins = new TreeMap<>(readPins());
                PinJson existing = pins.get(src.url().toString());
                if (existing != null && !existing.sha256().equals(sha)) {
                    Files.deleteIfExists(part);
                    throw new ChecksumMismatchException(fetchedFrom, src.name(), existing.sha256(), sha, true);
                }
                if (existing == null) {
                    pins.put(src.url().toString(), new PinJson(sha, size, tag, fileName, Instant.now().toString()));
                    writeJson(pinsFile, new PinsJson(1, pins));
                }
            }
            Path blob = blobPath(sha);
            Files.createDirectories(blobs);
            if (part != null) {
                move(part, blob);
            }
            return recordLocked(tag, fileName, src, fetchedFrom, sha, size, src.sha256() == null);
        }
    }

    /** Records an index entry for a blob that is already present and verified. */
    CachedFile record(String tag, String fileName, WeightSource src, URI fetchedFrom, String sha, long size, boolean pinned)
            throws IOException {
        try (CacheLock l = lockMeta()) {
            return recordLocked(tag, fileName, src, fetchedFrom, sha, size, pinned);
        }
    }

    private CachedFile recordLocked(String tag, String fileName, WeightSource src, URI fetchedFrom, String sha, long size,
                                    boolean pinned) throws IOException {
        Path blob = blobPath(sha);
        long mtime = Files.getLastModifiedTime(blob).to(TimeUnit.NANOSECONDS);
        Map<String, EntryJson> idx = new TreeMap<>(readIndex(tag));
        EntryJson e = new EntryJson(sha, size, src.url().toString(), fetchedFrom.toString(), src.name(), src.format(),
                src.effectiveWrappingKey(), pinned, Instant.now().toString(), mtime);
        idx.put(fileName, e);
        writeIndex(tag, idx);
        return toCachedFile(tag, fileName, e);
    }

    // ------------------------------------------------------------------ internals

    private CachedFile toCachedFile(String tag, String name, EntryJson e) {
        return new CachedFile(tag, name, blobPath(e.sha256()), e.sha256(), e.size(),
                e.source() == null ? null : URI.create(e.source()),
                e.fetchedFrom() == null ? null : URI.create(e.fetchedFrom()),
                e.sourceName() == null ? name : e.sourceName(), e.format(), e.wrappingKey(), e.pinned(),
                e.fetchedAt() == null ? null : Instant.parse(e.fetchedAt()));
    }

    private Path indexPath(String tag) {
        if (!Registry.TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException("not a valid weights tag: " + tag);
        }
        return models.resolve(tag).resolve("index.json");
    }

    private Map<String, EntryJson> readIndex(String tag) {
        Path p = indexPath(tag);
        if (!Files.isRegularFile(p)) {
            return Map.of();
        }
        try {
            IndexJson idx = JSON.readValue(p.toFile(), IndexJson.class);
            Map<String, EntryJson> files = new LinkedHashMap<>();
            if (idx.files() != null) {
                idx.files().forEach((k, v) -> {
                    if (v != null && v.sha256() != null && HEX64.matcher(v.sha256()).matches()) {
                        files.put(k, v);
                    }
                });
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read cache index " + p + " (delete it to reset this entry)", e);
        }
    }

    private void writeIndex(String tag, Map<String, EntryJson> files) throws IOException {
        Path p = indexPath(tag);
        if (files.isEmpty()) {
            Files.deleteIfExists(p);
            return;
        }
        writeJson(p, new IndexJson(1, tag, files));
    }

    private Map<String, PinJson> readPins() {
        if (!Files.isRegularFile(pinsFile)) {
            return Map.of();
        }
        try {
            PinsJson pins = JSON.readValue(pinsFile.toFile(), PinsJson.class);
            return pins.pins() == null ? Map.of() : pins.pins();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + pinsFile, e);
        }
    }

    private Set<String> referencedBlobs() throws IOException {
        Set<String> used = new HashSet<>();
        for (String tag : childDirs(models)) {
            if (Registry.TAG.matcher(tag).matches()) {
                readIndex(tag).values().forEach(e -> used.add(e.sha256()));
            }
        }
        return used;
    }

    /** Deletes a blob unless a download holds its lock; returns bytes freed or -1 when skipped. */
    private long deleteBlobIfUnlocked(String sha) throws IOException {
        Optional<CacheLock> held = CacheLock.tryAcquire(lockPath(sha), "removing blob");
        if (held.isEmpty()) {
            return -1;
        }
        try (CacheLock h = held.get()) {
            Path p = blobs.resolve(sha);
            long size = Files.exists(p) ? Files.size(p) : 0;
            return Files.deleteIfExists(p) ? size : -1;
        }
    }

    /** Deletes a {@code <key>.part[.json]} or stray temp file unless its download is running. */
    private long deleteTempIfUnlocked(Path f) throws IOException {
        String n = f.getFileName().toString();
        int i = n.indexOf(".part");
        if (i > 0) {
            Optional<CacheLock> held = CacheLock.tryAcquire(lockPath(n.substring(0, i)), "gc");
            if (held.isEmpty()) {
                return -1;
            }
            try (CacheLock h = held.get()) {
                return deleteTree(f);
            }
        }
        return deleteTree(f);
    }

    static String uniq() {
        return ProcessHandle.current().pid() + "-" + System.nanoTime();
    }

    static void writeJson(Path target, Object value) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(target.getFileName() + "." + uniq() + ".tmp");
        try {
            JSON.writeValue(tmp.toFile(), value);
            move(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Atomic rename, replacing the target. */
    static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static List<Path> children(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            ds.forEach(out::add);
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    static List<String> childDirs(Path dir) throws IOException {
        Set<String> out = new LinkedHashSet<>();
        for (Path p : children(dir)) {
            if (Files.isDirectory(p)) {
                out.add(p.getFileName().toString());
            }
        }
        return new ArrayList<>(out);
    }

    /** Deletes a file or directory tree; returns the bytes it held. */
    static long deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        long[] bytes = {0};
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                bytes[0] += attrs.size();
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
        return bytes[0];
    }

    static long treeSize(Path dir) throws IOException {
        long[] bytes = {0};
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                bytes[0] += attrs.size();
                return FileVisitResult.CONTINUE;
            }
        });
        return bytes[0];
    }

    @Override
    public String toString() {
        return "ModelCache[" + root + "]";
    }
}
