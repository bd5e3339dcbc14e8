package org.attnzoo.converters;

/**
 * A checkpoint could not be read or mapped. The message is one line that names the file (or other
 * source), the tensor key or pickle global concerned where there is one, and what was expected
 * versus what was found, e.g.
 *
 * <pre>
 * /ckpt/vit.safetensors: tensor 'blocks.0.attn.qkv.weight': data_offsets [0, 40] hold 40 bytes, expected 48 (float32[3, 4])
 * </pre>
 *
 * Command-line tools can print {@link #getMessage()} alone; the stack trace is only for debugging.
 */
public class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final String key;

    /** A message about {@code source} as a whole: {@code "<source>: <problem>"}. */
    public CheckpointException(String source, String problem) {
        this(source, null, problem, null);
    }

    /** As {@link #CheckpointException(String, String)}, with a cause. */
    public CheckpointException(String source, String problem, Throwable cause) {
        this(source, null, problem, cause);
    }

    /**
     * A message about tensor {@code key} of {@code source}: {@code "<source>: tensor '<key>': <problem>"}.
     * A null key gives the whole-source form.
     */
    public CheckpointException(String source, String key, String problem, Throwable cause) {
        super(format(source, key, problem), cause);
        this.source = source;
        this.key = key;
    }

    /** {@code "<source>: tensor '<key>': <what>: expected <expected>, got <actual>"}. */
    public static CheckpointException mismatch(String source, String key, String what, Object expected, Object actual) {
        return new CheckpointException(source, key, what + ": expected " + expected + ", got " + actual, null);
    }

    /** The file (or description) the problem is in; may be null. */
    public String source() {
        return source;
    }

    /** The tensor key concerned, or null when the problem is not about one tensor. */
    public String key() {
        return key;
    }

    private static String format(String source, String key, String problem) {
        StringBuilder sb = new StringBuilder();
        if (source != null) sb.append(source).append(": ");
        if (key != null) sb.append("tensor '").append(key).append("': ");
        sb.append(problem.replace('\n', ' '));
        return sb.toString();
    }
}
