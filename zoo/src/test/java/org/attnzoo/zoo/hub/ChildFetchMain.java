package org.attnzoo.zoo.hub;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Entry point run in a second JVM by {@link TwoProcessTest}: fetches one model into a shared cache
 * and prints {@code OK <sha256> <path>} (exit 0) or {@code ERR <message>} (exit 1). Status lines
 * from the downloader are printed prefixed with {@code MSG}.
 *
 * <p>Arguments: cache root, registry JSON path, model reference.
 */
public final class ChildFetchMain {

    private ChildFetchMain() {
    }

    public static void main(String[] args) {
        try {
            ProgressListener out = new ProgressListener() {
                @Override
                public void onMessage(String message) {
                    System.out.println("MSG " + message);
                    System.out.flush();
                }
            };
            ModelHub hub = ModelHub.builder()
                    .env(Env.empty())
                    .cacheRoot(Path.of(args[0]))
                    .registry(Registry.fromPath(Path.of(args[1])))
                    .downloader(Downloader.builder().env(Env.empty()).progress(out)
                            .readTimeout(Duration.ofSeconds(30)).lockTimeout(Duration.ofSeconds(60)).build())
                    .build();
            FetchedModel m = hub.fetch(args[2]);
            System.out.println("OK " + m.weights().sha256() + " " + m.weightsPath());
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("ERR " + t);
            System.exit(1);
        }
    }
}
