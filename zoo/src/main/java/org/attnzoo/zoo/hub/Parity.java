package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Parity status of a model with a free-text reason (how it was verified, or why not).
 *
 * @param status verified / unverified / unsupported
 * @param reason required for {@code unsupported}, optional otherwise
 */
public record Parity(
        @JsonProperty(value = "status", required = true) ParityStatus status,
        @JsonProperty("reason") String reason) {
}
