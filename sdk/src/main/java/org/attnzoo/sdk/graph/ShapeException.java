package org.attnzoo.sdk.graph;

/** A shape rule failed while building a graph: the message names the op and the shapes. */
public class ShapeException extends RuntimeException {
    public ShapeException(String message) {
        super(message);
    }
}
