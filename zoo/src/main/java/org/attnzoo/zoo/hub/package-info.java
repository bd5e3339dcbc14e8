/**
 * The model-zoo hub: registry index, local cache and downloader for pretrained weights.
 *
 * <h2>Quick use</h2>
 * <pre>{@code
 * ModelHub hub = ModelHub.builder().progress(ProgressReporters.forConsole()).build();
 * FetchedModel m = hub.fetch("convit_tiny");          // or "convit_tiny.fb_in1k"
 * Path weights = m.weightsPath();                      // blobs/sha256/<hex>, verified
 * WeightFormat fmt = m.weights().format();             // SAFETENSORS, or PTH if the fallback was used
 * Preprocessing pre = m.model().model().preprocessing();
 * }</pre>
 *
 * <ul>
 *   <li>{@link org.attnzoo.zoo.hub.Registry} - the validated model index ({@link
 *       org.attnzoo.zoo.hub.Registry#resolve resolve}, {@link org.attnzoo.zoo.hub.Registry#list
 *       list} with wildcards, suggestions for unknown names).</li>
 *   <li>{@link org.attnzoo.zoo.hub.ModelCache} - content-addressed blobs, per-tag index, pins,
 *       converted ONNX slots, {@code ls / rm / gc / verify}.</li>
 *   <li>{@link org.attnzoo.zoo.hub.Downloader} - resumable, hash-checked, locked, mirror- and
 *       offline-aware transfers.</li>
 *   <li>{@link org.attnzoo.zoo.hub.ModelHub} - the three together.</li>
 *   <li>{@link org.attnzoo.zoo.hub.ProgressReporters} - console progress (bar on a terminal,
 *       plain lines otherwise).</li>
 * </ul>
 *
 * <h2>Environment</h2>
 * Read through an injectable {@link org.attnzoo.zoo.hub.Env} (tests pass a map). Explicit
 * builder settings win over the environment.
 * <table>
 *   <caption>Variables</caption>
 *   <tr><th>Variable</th><th>Meaning</th><th>Default</th></tr>
 *   <tr><td>{@code ATTNZOO_HOME}</td><td>cache root</td><td>{@code ~/.cache/attnzoo}</td></tr>
 *   <tr><td>{@code ATTNZOO_REGISTRY}</td><td>registry index (path, {@code file:} or
 *       {@code http(s):} URL) replacing the bundled one</td><td>bundled
 *       {@code /org/attnzoo/zoo/hub/registry.json}</td></tr>
 *   <tr><td>{@code ATTNZOO_MIRROR}</td><td>mirror base replacing upstream hosts: {@code file:}
 *       URL, plain directory, or {@code http(s):} URL; file URL =
 *       {@code <base>/<tag>/<source file name>}</td><td>none</td></tr>
 *   <tr><td>{@code ATTNZOO_OFFLINE}</td><td>{@code 1/true/yes/on}: never open a network
 *       connection</td><td>off</td></tr>
 *   <tr><td>{@code ATTNZOO_CONNECT_TIMEOUT}</td><td>seconds, or {@code 500ms}/{@code 10s}/{@code 2m}</td><td>15 s</td></tr>
 *   <tr><td>{@code ATTNZOO_READ_TIMEOUT}</td><td>longest silence while reading</td><td>60 s</td></tr>
 *   <tr><td>{@code HTTPS_PROXY}, {@code HTTP_PROXY}, {@code NO_PROXY}</td><td>proxy
 *       ({@code host:port}, either case; loopback never proxied)</td><td>JVM proxy settings</td></tr>
 * </table>
 *
 * <h2>Registry index schema (version 1)</h2>
 * A JSON document {@code {"schema_version": 1, "models": [ ... ]}}. Unknown fields are errors
 * (typos are caught), and every entry is validated on load; messages name the entry, e.g.
 * {@code registry x.json: models[2] (convit_base).weights[0].files[0]: sha256 must be ...}.
 * <pre>{@code
 * {
 *   "name": "convit_tiny",              // upstream (timm) architecture name: [A-Za-z0-9][A-Za-z0-9_-]*, no dots, unique (case as upstream registers it)
 *   "family": "convit",                 // family id
 *   "variant": "tiny",                  // variant within the family
 *   "paper": {"title": "...", "url": "https://arxiv.org/abs/2103.10697"},
 *   "code_license": "apache-2.0",       // licence of the upstream reference code
 *   "license_notice": "...",            // optional one line (e.g. a non-commercial licence): shown by info,
 *                                       // printed on stderr by pull and run before use; absent for none
 *   "reported_top1": 73.1,              // ImageNet-1k top-1 % reported upstream, or null
 *   "parity": {"status": "unverified",  // verified | unverified | unsupported
 *              "reason": "..."},        // required for unsupported; how it was verified otherwise
 *   "preprocessing": {
 *     "input_size": [3, 224, 224],      // [C, H, W]
 *     "mean": [0.485, 0.456, 0.406],    // C values
 *     "std":  [0.229, 0.224, 0.225],    // C values > 0
 *     "crop_pct": 0.875,                // (0, 2]; resize shorter side to H / crop_pct, centre-crop H x W (> 1 pads)
 *     "interpolation": "bicubic",       // nearest | bilinear | bicubic | lanczos | box | hamming
 *     "crop_mode": "center"             // optional: center (default) | squash (resize both sides, no aspect kept)
 *   },
 *   "labels": "imagenet-1k",            // a label-set id, or "file:<name>" naming a file of every weights entry
 *   "weights": [                        // first entry = default for the bare name
 *     {
 *       "tag": "convit_tiny.fb_in1k",   // "<name>.<pretrained tag>" (timm style), globally unique
 *       "license": "apache-2.0",        // licence of the weights
 *       "files": [                      // weights first; more files (e.g. labels) may follow
 *         {
 *           "name": "model.safetensors",      // plain file name: index key and mirror file name
 *           "format": "safetensors",          // safetensors | pth | npz | onnx | json | txt
 *           "sha256": null,                   // 64 lowercase hex, or null = unknown (pinned on first download)
 *           "size": null,                     // bytes, or null = unknown
 *           "wrapping_key": null,             // checkpoint key holding the state dict (e.g. "model"), or null
 *           "urls": [                         // sources in order of preference, upstream host first
 *             "https://huggingface.co/timm/convit_tiny.fb_in1k/resolve/main/model.safetensors",
 *             {"url": "https://dl.fbaipublicfiles.com/convit/convit_tiny.pth",
 *              "name": "convit_tiny.pth", "format": "pth"}
 *           ]
 *         }
 *       ]
 *     }
 *   ]
 * }
 * }</pre>
 * A source in {@code urls} is either a string - a byte-identical copy of the file, inheriting its
 * {@code sha256}, {@code size}, {@code format}, {@code name} and {@code wrapping_key} - or an
 * object describing <em>different bytes</em> that can stand in for the file (typically the authors'
 * release in another format). An object source inherits {@code name}, {@code format} and
 * {@code wrapping_key} when absent ({@code ""} = explicitly no wrapping key) but never
 * {@code sha256}/{@code size}: give its own or leave them unknown. Whatever source succeeds, the
 * cached entry records the actual format and wrapping key ({@link
 * org.attnzoo.zoo.hub.CachedFile#format()}), so loaders must look there rather than at the
 * registry file's primary format. URLs must be absolute {@code https:}, {@code http:} or
 * {@code file:}.
 *
 * <p>Never invent hashes: leave {@code sha256} null when it has not been computed from the real
 * upstream file. Unknown hashes are pinned (trust on first use) in the user's cache.
 *
 * <h2>Cache layout</h2>
 * See {@link org.attnzoo.zoo.hub.ModelCache}: {@code blobs/sha256/<hex>} (content-addressed),
 * {@code models/<tag>/index.json} (file name to blob hash, source URL, format, ...),
 * {@code pins.json} (URL to pinned hash), {@code converted/<tag>/<converter version>/opset<N>-<precision>/model.onnx},
 * {@code blobs/sha256/<hex>.part} and {@code blobs/incoming/url-<k>.part} (resumable partial
 * downloads), {@code locks/} (inter-process locks).
 *
 * <h2>Integrity</h2>
 * Downloads are hashed while streaming and checked against the registry or pinned hash before an
 * atomic rename into the blob store; on a mismatch nothing is kept. Cached files are re-checked on
 * every fetch ({@link org.attnzoo.zoo.hub.VerifyMode#QUICK}: size and mtime, full re-hash when
 * either changed; {@link org.attnzoo.zoo.hub.VerifyMode#FULL}: always re-hash); a corrupt or
 * missing file is downloaded again. {@link org.attnzoo.zoo.hub.ModelCache#verify()} re-hashes
 * everything.
 */
package org.attnzoo.zoo.hub;
