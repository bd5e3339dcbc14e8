package org.attnzoo.zoo.hub;

import org.attnzoo.sdk.model.Preprocessing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RegistryTest {

    @TempDir
    Path tmp;

    @Test
    void bundledRegistryHasTheConvitEntries() {
        Registry r = Registry.bundled();
        assertThat(r.models()).extracting(ModelEntry::name).startsWith("convit_tiny", "convit_small", "convit_base", "convit_digits")
                .contains("nat_mini", "dinat_base");
        assertThat(r.models()).extracting(ModelEntry::reportedTop1).startsWith(73.1, 81.3, 82.4, 99.72);

        ModelEntry tiny = r.model("convit_tiny");
        assertThat(tiny.family()).isEqualTo("convit");
        assertThat(tiny.variant()).isEqualTo("tiny");
        assertThat(tiny.paper().url()).isEqualTo(URI.create("https://arxiv.org/abs/2103.10697"));
        assertThat(tiny.codeLicense()).isEqualTo("apache-2.0");
        assertThat(tiny.parity().status()).isEqualTo(ParityStatus.VERIFIED);
        assertThat(tiny.labels()).isEqualTo("imagenet-1k");
        assertThat(tiny.labelsFile()).isEmpty();
        Preprocessing p = tiny.preprocessing();
        assertThat(p.inputSize()).containsExactly(3, 224, 224);
        assertThat(p.mean()).containsExactly(0.485, 0.456, 0.406);
        assertThat(p.std()).containsExactly(0.229, 0.224, 0.225);
        assertThat(p.cropPct()).isEqualTo(0.875);
        assertThat(p.interpolation()).isEqualTo("bicubic");

        WeightVersion w = tiny.defaultWeights();
        assertThat(w.tag()).isEqualTo("convit_tiny.fb_in1k");
        assertThat(w.shortTag()).isEqualTo("fb_in1k");
        assertThat(w.license()).isEqualTo("apache-2.0");
        WeightFile f = w.files().get(0);
        assertThat(f.name()).isEqualTo("model.safetensors");
        assertThat(f.sha256()).isNull(); // unknown: never invented
        assertThat(f.size()).isNull();
        List<WeightSource> src = f.sources();
        assertThat(src).hasSize(2);
        assertThat(src.get(0).url()).isEqualTo(
                URI.create("https://huggingface.co/timm/convit_tiny.fb_in1k/resolve/main/model.safetensors"));
        assertThat(src.get(0).format()).isEqualTo(WeightFormat.SAFETENSORS);
        assertThat(src.get(1).url()).isEqualTo(URI.create("https://dl.fbaipublicfiles.com/convit/convit_tiny.pth"));
        assertThat(src.get(1).format()).isEqualTo(WeightFormat.PTH);
        assertThat(src.get(1).name()).isEqualTo("convit_tiny.pth");
        assertThat(src.get(1).effectiveWrappingKey()).isNull();
        for (ModelEntry m : r.list("convit_*")) {
            if (m.name().equals("convit_digits")) {
                // shipped inside the jar, so its hash is known and pinned
                WeightFile d = m.defaultWeights().files().get(0);
                assertThat(d.sha256()).hasSize(64);
                assertThat(d.sources().get(0).url().getScheme()).isEqualTo("classpath");
                continue;
            }
            assertThat(m.weights()).allSatisfy(v -> assertThat(v.files()).allSatisfy(x -> {
                assertThat(x.sha256()).isNull();
                assertThat(x.sources().get(0).url().getHost()).isEqualTo("huggingface.co");
                assertThat(x.sources().get(1).url().toString()).isEqualTo("https://dl.fbaipublicfiles.com/convit/" + m.name() + ".pth");
            }));
        }
    }

    @Test
    void resolvesNamesAndTags() {
        Registry r = Registry.bundled();
        assertThat(r.resolve("convit_small").tag()).isEqualTo("convit_small.fb_in1k");
        assertThat(r.resolve("convit_small.fb_in1k").weights().tag()).isEqualTo("convit_small.fb_in1k");
        assertThat(r.resolve(" convit_base ").name()).isEqualTo("convit_base");
        assertThat(r.find("convit_base")).isPresent();
        assertThat(r.find("nope")).isEmpty();
    }

    @Test
    void defaultTagIsTheFirstListed() {
        WeightFile f = Fixtures.file("model.safetensors", null, null, URI.create("https://x.example/a"));
        ModelEntry m = new ModelEntry("net", "fam", "v", new Paper("t", URI.create("https://p.example")), "mit", null,
                new Parity(ParityStatus.VERIFIED, "max abs diff 1e-5"), Fixtures.imagenet224(), "imagenet-1k",
                List.of(new WeightVersion("net.second_in1k", "mit", List.of(f)),
                        new WeightVersion("net.first_in1k", "mit", List.of(f))));
        Registry r = Fixtures.registry(m);
        assertThat(r.resolve("net").tag()).isEqualTo("net.second_in1k");
        assertThat(r.resolve("net.first_in1k").tag()).isEqualTo("net.first_in1k");
        assertThat(r.listTags("net")).containsExactly("net.second_in1k", "net.first_in1k");
    }

    @Test
    void wildcardListing() {
        Registry r = Registry.bundled();
        assertThat(r.list("convit_*")).extracting(ModelEntry::name).containsExactly("convit_tiny", "convit_small", "convit_base", "convit_digits");
        assertThat(r.list("CONVIT_?ase")).extracting(ModelEntry::name).containsExactly("convit_base");
        assertThat(r.list("*")).hasSize(r.models().size()).hasSizeGreaterThan(4);
        assertThat(r.list(null)).hasSize(r.models().size());
        assertThat(r.list("vit_*")).isEmpty();
        assertThat(r.list("*.fb_in1k")).hasSize(3);
        assertThat(r.listTags("convit_t*")).containsExactly("convit_tiny.fb_in1k");
        assertThat(r.listTags("*.fb_*")).hasSize(3);
        assertThat(r.list("convit_[a]")).isEmpty(); // brackets are literal
    }

    @Test
    void unknownNamesSuggestCloseMatches() {
        Registry r = Registry.bundled();
        assertThatThrownBy(() -> r.resolve("convit_tiyn"))
                .isInstanceOfSatisfying(UnknownModelException.class, e -> {
                    assertThat(e.requested()).isEqualTo("convit_tiyn");
                    assertThat(e.suggestions()).first().isEqualTo("convit_tiny");
                })
                .hasMessageStartingWith("unknown model 'convit_tiyn'; did you mean convit_tiny")
                .hasMessageContaining(r.models().size() + " models in bundled registry");
        assertThatThrownBy(() -> r.resolve("convit"))
                .isInstanceOfSatisfying(UnknownModelException.class,
                        e -> assertThat(e.suggestions()).containsExactlyInAnyOrder("convit_tiny", "convit_small", "convit_base", "convit_digits"));
        assertThatThrownBy(() -> r.resolve("mobilenetv3_large_100"))
                .isInstanceOfSatisfying(UnknownModelException.class, e -> assertThat(e.suggestions()).isEmpty())
                .hasMessageStartingWith("unknown model 'mobilenetv3_large_100' (");
        assertThatThrownBy(() -> r.resolve("convit_smal.fb_in1k"))
                .isInstanceOfSatisfying(UnknownModelException.class,
                        e -> assertThat(e.suggestions()).first().isEqualTo("convit_small.fb_in1k"));
        assertThatThrownBy(() -> r.resolve("convit_tiny.in22k"))
                .isInstanceOf(UnknownModelException.class)
                .hasMessage("unknown weights 'in22k' for model convit_tiny; available: convit_tiny.fb_in1k");
        assertThatThrownBy(() -> r.model("convit_tinyy")).hasMessageContaining("did you mean convit_tiny");
        assertThat(r.suggest("convit_smal")).first().isEqualTo("convit_small");
    }

    @Test
    void editDistance() {
        assertThat(Registry.editDistance("convit_tiny", "convit_tiny")).isZero();
        assertThat(Registry.editDistance("convit_tiyn", "convit_tiny")).isEqualTo(1); // transposition
        assertThat(Registry.editDistance("kitten", "sitting")).isEqualTo(3);
        assertThat(Registry.editDistance("", "abc")).isEqualTo(3);
    }

    @Test
    void loadPrecedenceArgumentThenEnvThenBundled() throws Exception {
        Path extra = copyResource("/hub/extra-registry.json");
        assertThat(Registry.load(Env.empty()).source()).contains("bundled");
        Registry fromEnv = Registry.load(Env.of(Map.of(Env.REGISTRY_VAR, extra.toString())));
        assertThat(fromEnv.models()).extracting(ModelEntry::name).containsExactly("extra_net");
        assertThat(fromEnv.source()).isEqualTo(extra.toString());
        Registry fromUrl = Registry.load(Env.of(Map.of(Env.REGISTRY_VAR, extra.toUri().toString())));
        assertThat(fromUrl.models()).hasSize(1);
        Path bundledCopy = tmp.resolve("bundled-copy.json");
        Files.writeString(bundledCopy, Registry.bundled().toJson());
        Registry explicit = Registry.load(bundledCopy.toString(), Env.of(Map.of(Env.REGISTRY_VAR, extra.toString())));
        assertThat(explicit.find("convit_tiny")).isPresent();
        ModelEntry e = fromEnv.model("extra_net");
        assertThat(e.labelsFile()).contains("labels.txt");
        assertThat(e.parity().status()).isEqualTo(ParityStatus.UNSUPPORTED);
        assertThat(e.preprocessing().interpolation()).isEqualTo("bilinear");
        assertThat(e.defaultWeights().file("labels.txt")).isPresent();
        assertThatThrownBy(() -> Registry.load(Env.of(Map.of(Env.REGISTRY_VAR, tmp.resolve("none.json").toString()))))
                .isInstanceOf(IOException.class).hasMessageContaining("none.json");
    }

    @Test
    void registryFromHttpUrlAndOfflineRefusal() throws Exception {
        try (TestHttpServer server = TestHttpServer.start()) {
            server.serve("/reg.json", Files.readAllBytes(copyResource("/hub/extra-registry.json")));
            Registry r = Registry.load(server.uri("/reg.json").toString(), Env.empty());
            assertThat(r.models()).extracting(ModelEntry::name).containsExactly("extra_net");
            assertThat(r.source()).isEqualTo(server.uri("/reg.json").toString());
            assertThatThrownBy(() -> Registry.load(server.uri("/missing.json").toString(), Env.empty()))
                    .hasMessage("registry not found at " + server.uri("/missing.json"));
            assertThatThrownBy(() -> Registry.load(server.uri("/reg.json").toString(),
                    Env.of(Map.of(Env.OFFLINE_VAR, "1"))))
                    .hasMessageContaining("offline mode").hasMessageContaining("local file");
            assertThat(server.requests()).hasSize(2);
        }
    }

    /** The registry is fetched by the downloader's HTTP client: its user agent, its redirect rules, its offline switch. */
    @Test
    void remoteRegistryGoesThroughTheDownloadersClient() throws Exception {
        try (TestHttpServer server = TestHttpServer.start()) {
            server.serve("/reg.json", Files.readAllBytes(copyResource("/hub/extra-registry.json")));
            Downloader http = Downloader.builder().env(Env.empty()).userAgent("attnzoo-test/1").build();
            Registry r = Registry.load(server.uri("/reg.json").toString(), Env.empty(), http);
            assertThat(r.models()).extracting(ModelEntry::name).containsExactly("extra_net");
            assertThat(server.requests().get(0).userAgent).isEqualTo("attnzoo-test/1");
            Downloader off = Downloader.builder().env(Env.empty()).offline(true).build();
            assertThatThrownBy(() -> Registry.fromUrl(server.uri("/reg.json"), off)).hasMessageContaining("offline mode");
            assertThat(server.requests()).hasSize(1);
        }
    }

    @Test
    void mergeOverlaysEntriesByName() throws Exception {
        Registry extra = Registry.fromPath(copyResource("/hub/extra-registry.json"));
        Registry merged = Registry.bundled().merge(extra);
        assertThat(merged.models()).extracting(ModelEntry::name)
                .startsWith("convit_tiny", "convit_small", "convit_base", "convit_digits").endsWith("extra_net");
    }

    @Test
    void toJsonRoundTrips() {
        Registry r = Registry.bundled();
        Registry back = Registry.parse(r.toJson(), "round trip");
        assertThat(back.models()).isEqualTo(r.models());
    }

    @Test
    void validationErrorsNameTheEntry() {
        String good = Registry.bundled().toJson();
        assertInvalid(good.replace("\"schema_version\" : 1", "\"schema_version\" : 2"), "schema_version 2 is not supported");
        assertInvalid(good.replace("\"convit_small.fb_in1k\"", "\"convit_tiny.fb_in1k\""),
                "models[1] (convit_small).weights[0]: tag must be 'convit_small.<pretrained tag>'");
        assertInvalid(good.replace("\"name\" : \"convit_small\"", "\"name\" : \"convit_tiny\""), "duplicate model name convit_tiny");
        assertInvalid(good.replaceFirst("\"sha256\" : null", "\"sha256\" : \"ABC\""),
                "models[0] (convit_tiny).weights[0].files[0]: sha256 must be 64 lowercase hex digits");
        assertInvalid(good.replaceFirst("\"crop_pct\" : 0.875", "\"crop_pct\" : 2.5"), "crop_pct must be in (0, 2]");
        assertInvalid(good.replaceFirst("\"crop_pct\"", "\"crop_percent\""), "Missing required property 'crop_pct' in preprocessing");
        assertInvalid(good.replaceFirst("\"crop_pct\" : 0.875", "\"crop_pct\" : 0.875, \"crop_percent\" : 0.9"),
                "Unrecognized field \"crop_percent\" in preprocessing");
        assertInvalid(good.replaceFirst("\"interpolation\" : \"bicubic\"", "\"interpolation\" : \"cubic\""), "cubic");
        assertInvalid(good.replaceFirst("\"labels\" : \"imagenet-1k\"", "\"labels\" : \"file:labels.txt\""),
                "labels refers to file 'labels.txt'");
        assertInvalid(good.replaceFirst("\"status\" : \"verified\",\\s*\"reason\" : \"[^\"]*\"",
                "\"status\" : \"unsupported\", \"reason\" : null"), "parity.reason is required");
        assertInvalid(good.replaceFirst("https://huggingface.co/", "ftp://huggingface.co/"), "absolute http(s), file or classpath URL");
        assertInvalid("{ \"schema_version\": 1, \"models\": [ }", "invalid JSON");
    }

    private static void assertInvalid(String json, String fragment) {
        assertThatThrownBy(() -> Registry.parse(json, "t.json"))
                .isInstanceOf(RegistryException.class)
                .hasMessageStartingWith("registry t.json")
                .hasMessageContaining(fragment);
    }

    private Path copyResource(String name) throws IOException {
        Path p = tmp.resolve(Path.of(name).getFileName().toString());
        try (InputStream in = RegistryTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            Files.writeString(p, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        return p;
    }
}
