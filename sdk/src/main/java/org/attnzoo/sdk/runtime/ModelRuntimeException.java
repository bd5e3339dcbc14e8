package org.attnzoo.sdk.runtime;

/** A model could not be opened or run; the message says which model and why. */
public class ModelRuntimeException extends RuntimeException {
    public ModelRuntimeException(String message, Throwable cause) {
        super(message, cause);
    }

    public ModelRuntimeException(String message) {
        super(message);
    }
}
