package org.attnzoo.zoo.hub;

import java.util.List;

/** A model name or tag that the registry does not know, with close matches. */
public final class UnknownModelException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String requested;
    private final transient List<String> suggestions;

    public UnknownModelException(String message, String requested, List<String> suggestions) {
        super(message);
        this.requested = requested;
        this.suggestions = List.copyOf(suggestions);
    }

    /** What was asked for. */
    public String requested() {
        return requested;
    }

    /** Close matches (names or tags), best first; may be empty. */
    public List<String> suggestions() {
        return suggestions;
    }
}
