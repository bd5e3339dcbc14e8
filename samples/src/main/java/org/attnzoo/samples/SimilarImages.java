package org.attnzoo.samples;

import org.attnzoo.sdk.runtime.Device;
import org.attnzoo.zoo.AttnZoo;
import org.attnzoo.zoo.ImageEmbedder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Rank the images of a folder by how similar they look to a query image: embed every image with a
 * zoo model (its pooled pre-logits vector) and sort by cosine similarity.
 *
 * <pre>java -cp ... org.attnzoo.samples.SimilarImages samples/images/digit_3.png samples/images [convit_digits]</pre>
 */
public final class SimilarImages {
    private SimilarImages() {
    }

    /** One ranked image. */
    public record Match(Path image, double similarity) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%.4f  %s", similarity, image);
        }
    }

    public static void main(String[] args) throws IOException {
        Path query = Path.of(args.length > 0 ? args[0] : "samples/images/digit_3.png");
        Path folder = Path.of(args.length > 1 ? args[1] : "samples/images");
        String model = args.length > 2 ? args[2] : "convit_digits";
        try (AttnZoo zoo = AttnZoo.local()) {
            for (Match m : rank(zoo, model, query, folder)) System.out.println(m);
        }
    }

    /** Every PNG/JPEG in {@code folder}, most similar to {@code query} first. */
    public static List<Match> rank(AttnZoo zoo, String model, Path query, Path folder) throws IOException {
        List<Path> images;
        try (Stream<Path> s = Files.list(folder)) {
            images = s.filter(p -> p.getFileName().toString().toLowerCase(java.util.Locale.ROOT).matches(".*\\.(png|jpe?g)")).sorted().toList();
        }
        try (ImageEmbedder embedder = zoo.embedder(model, Device.auto())) {
            float[] q = embedder.embed(query);
            List<float[]> vs = embedder.embed(images);
            return IntStream.range(0, images.size())
                    .mapToObj(i -> new Match(images.get(i), ImageEmbedder.cosine(q, vs.get(i))))
                    .sorted(Comparator.comparingDouble(Match::similarity).reversed())
                    .toList();
        }
    }
}
