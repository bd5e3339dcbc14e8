package org.attnzoo.zoo;

/** One class of a classification: its index, label and softmax probability. */
public record Prediction(int index, String label, float probability) {
    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s (%d): %.4f", label, index, probability);
    }
}
