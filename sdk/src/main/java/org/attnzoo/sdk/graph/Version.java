package org.attnzoo.sdk.graph;

/** The SDK version written into every model's producer_version. */
final class Version {
    private Version() {
    }

    static String get() {
        String v = OnnxModel.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0";
    }
}
