package org.attnzoo.samples;

import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.ImageClassifier;
import org.attnzoo.zoo.Prediction;

import java.nio.file.Path;
import java.util.List;

/**
 * Classify an image with a model from the zoo, in a few lines.
 *
 * <pre>java -cp ... org.attnzoo.samples.ClassifyImage samples/images/digit_3.png [convit_digits]</pre>
 */
public final class ClassifyImage {
    private ClassifyImage() {
    }

    public static void main(String[] args) {
        Path image = Path.of(args.length > 0 ? args[0] : "samples/images/digit_3.png");
        String model = args.length > 1 ? args[1] : "convit_digits";
        try (AttnZoo zoo = AttnZoo.local()) {
            for (Prediction p : classify(zoo, model, image)) {
                System.out.println(p);
            }
        }
    }

    /** Opens the model on the best device available and returns the image's top 3 classes. */
    public static List<Prediction> classify(AttnZoo zoo, String model, Path image) {
        try (ImageClassifier classifier = zoo.classifier(model, Device.auto())) {
            return classifier.classify(image, 3);
        }
    }
}
