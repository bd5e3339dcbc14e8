package org.attnzoo.zoo.hub;

/** A registry index that cannot be parsed or fails validation; the message names the source and entry. */
public final class RegistryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public RegistryException(String message) {
        super(message);
    }

    public RegistryException(String message, Throwable cause) {
        super(message, cause);
    }
}
