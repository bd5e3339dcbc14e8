package org.attnzoo.zoo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The zoo verbs on the shipped offline model: list, info, pull, run, verify, cache. */
class ZooCliTest {
    static final Path IMAGES = Path.of("../samples/images");

    @TempDir
    Path home;

    CliTest.Run cli(String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--home";
        all[args.length + 1] = home.toString();
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(all, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliTest.Run(code, out.toString(), err.toString());
    }

    @Test
    void runClassifiesEverySampleDigitCorrectlyOffline() throws Exception {
        String[] args = new String[13];
        args[0] = "run";
        args[1] = "convit_digits";
        args[2] = "--image";
        for (int d = 0; d < 10; d++) args[3 + d] = IMAGES.resolve("digit_" + d + ".png").toString();
        String[] withFlags = java.util.Arrays.copyOf(args, args.length + 3);
        withFlags[13] = "--json";
        withFlags[14] = "--offline";
        withFlags[15] = "--top=2";
        CliTest.Run r = cli(withFlags);
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode arr = new ObjectMapper().readTree(r.out());
        assertThat(arr).hasSize(10);
        for (int d = 0; d < 10; d++) {
            JsonNode top = arr.get(d).get("predictions").get(0);
            assertThat(top.get("label").asText()).as("digit_%d.png", d).isEqualTo(Integer.toString(d));
            assertThat(top.get("probability").asDouble()).isGreaterThan(0.5);
        }
        // converted once, then reused from the cache
        CliTest.Run again = cli("run", "convit_digits", "--image", IMAGES.resolve("digit_4.png").toString(), "--top", "1");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).contains("digit_4.png").containsPattern("%\\s+4");
        assertThat(again.err()).doesNotContain("downloading");
    }

    @Test
    void listInfoPullVerifyAndCache() throws Exception {
        CliTest.Run list = cli("list", "--json");
        assertThat(list.code()).as(list.err()).isZero();
        JsonNode arr = new ObjectMapper().readTree(list.out());
        assertThat(arr.findValuesAsText("name")).contains("convit_tiny", "convit_digits", "nat_mini", "dinat_base");
        assertThat(arr.findValuesAsText("parity")).contains("verified");
        assertThat(cli("list", "nat_*").out()).contains("nat_mini").doesNotContain("convit");

        CliTest.Run info = cli("info", "convit_tiny");
        assertThat(info.out()).contains("ConViT").contains("crop_pct 0.875").contains("bicubic")
                .contains("huggingface.co/timm/convit_tiny.fb_in1k").contains("sha256 unknown");

        CliTest.Run pull = cli("pull", "convit_digits");
        assertThat(pull.code()).as(pull.err()).isZero();
        Path onnx = Path.of(pull.out().trim());
        assertThat(onnx).exists().startsWith(home);

        CliTest.Run verify = cli("verify");
        assertThat(verify.code()).isZero();
        assertThat(verify.out()).contains("checked 1 files");

        assertThat(cli("cache", "ls").out()).contains("convit_digits.attnzoo_sklearn_digits").contains("converted");
        CliTest.Run rm = cli("cache", "rm", "convit_digits");
        assertThat(rm.code()).as(rm.err()).isZero();
        assertThat(cli("cache", "ls").out()).contains("(empty)");
        assertThat(cli("cache", "gc").code()).isZero();
    }

    @Test
    void offlinePullOfARemoteModelSaysWhatIsMissing() {
        CliTest.Run r = cli("pull", "convit_tiny", "--offline");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("offline").contains("convit_tiny.fb_in1k").contains("huggingface.co");
        assertThat(r.err()).contains("attnzoo import convit_tiny.fb_in1k FILE");
        try (var s = Files.list(home)) {
            assertThat(s.filter(p -> p.getFileName().toString().equals("blobs"))).allSatisfy(b -> assertThat(b).isDirectory());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void unknownModelSuggests() {
        CliTest.Run r = cli("info", "convit_tinny");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("unknown model 'convit_tinny'").contains("convit_tiny");
    }

    @Test
    void aModelWithoutReleasedWeightsHasACardAndItsFamilysParity() throws Exception {
        CliTest.Run info = cli("info", "dhvt_tiny_imagenet_patch16");
        assertThat(info.code()).as(info.err()).isZero();
        assertThat(info.out()).contains("dhvt_tiny_imagenet_patch16 (dhvt)").contains("parity:        verified")
                .contains("DHVTParityTest").contains("none in the registry").contains("attnzoo convert dhvt_tiny_imagenet_patch16");
        JsonNode card = new ObjectMapper().readTree(cli("info", "dhvt_tiny_imagenet_patch16", "--json").out());
        assertThat(card.get("parity").asText()).isEqualTo("verified");
        assertThat(card.get("in_registry").asBoolean()).isFalse();
        assertThat(card.get("num_classes").asInt()).isEqualTo(1000);

        JsonNode list = new ObjectMapper().readTree(cli("list", "dhvt_*", "--json").out());
        assertThat(list).isNotEmpty().allSatisfy(o -> assertThat(o.get("parity").asText()).isEqualTo("verified"));
    }

    @Test
    void importAddsAHandDownloadedFileUnderTheModelsTag() throws Exception {
        Path file = home.resolve("downloaded.safetensors");
        Files.write(file, "not really weights, but bytes to pin".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        CliTest.Run imp = cli("import", "convit_tiny", file.toString());
        assertThat(imp.code()).as(imp.err()).isZero();
        assertThat(imp.out()).contains("imported").contains("convit_tiny.fb_in1k/");
        assertThat(cli("cache", "ls").out()).contains("convit_tiny.fb_in1k");

        CliTest.Run missing = cli("import", "convit_tiny", home.resolve("nope.bin").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("nope.bin");
    }

    /** info names the outputs on offer; run --output embedding prints each image's vector. */
    @Test
    void infoShowsOutputsAndRunPrintsEmbeddings() throws Exception {
        assertThat(cli("info", "convit_digits").out()).contains("outputs:       logits, embedding (64)").contains("input size:    32x32");
        assertThat(cli("info", "davit_tiny").out()).contains("features (0: 96 ch /4, 1: 192 ch /8, 2: 384 ch /16, 3: 768 ch /32)")
                .contains("other sizes with --img-size");
        JsonNode card = new ObjectMapper().readTree(cli("info", "davit_tiny", "--json").out());
        assertThat(card.get("embedding_dim").asInt()).isEqualTo(768);
        assertThat(card.get("features").get(3).get("reduction").asInt()).isEqualTo(32);
        CliTest.Run run = cli("run", "convit_digits", "--image", IMAGES.resolve("digit_4.png").toString(), IMAGES.resolve("digit_7.png").toString(),
                "--output", "embedding", "--json");
        assertThat(run.code()).as(run.err()).isZero();
        JsonNode arr = new ObjectMapper().readTree(run.out());
        assertThat(arr).hasSize(2);
        assertThat(arr.get(0).get("embedding")).hasSize(64);
        CliTest.Run none = cli("run", "convit_digits", "--image", IMAGES.resolve("digit_4.png").toString(), "--output", "features");
        assertThat(none.code()).isNotZero();
        assertThat(none.err()).contains("convit_digits offers no feature maps");
    }

    @Test
    void namesResolveIgnoringCase() {
        CliTest.Run info = cli("info", "ravlt_t");
        assertThat(info.code()).as(info.err()).isZero();
        assertThat(info.out()).startsWith("RAVLT_T (");
        assertThat(cli("info", "DHVT_TINY_IMAGENET_PATCH16").out()).startsWith("dhvt_tiny_imagenet_patch16 (dhvt)");
        assertThat(cli("list", "RAVLT_*").out()).contains("RAVLT_T").contains("RAVLT_S");
        assertThat(org.attnzoo.zoo.arch.Architectures.get("ravlt_t").name()).isEqualTo("RAVLT_T");
    }
}
