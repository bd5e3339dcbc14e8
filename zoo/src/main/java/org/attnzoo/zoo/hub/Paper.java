package org.attnzoo.zoo.hub;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;

/**
 * The paper a model comes from.
 *
 * @param title paper title
 * @param url   a stable link (arXiv abstract page preferred)
 */
public record Paper(
        @JsonProperty(value = "title", required = true) String title,
        @JsonProperty(value = "url", required = true) URI url) {
}
