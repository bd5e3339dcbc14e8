package org.attnzoo.converters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.attnzoo.sdk.tensor.FloatTensor;
import org.attnzoo.sdk.tensor.TensorData;

@SuppressWarnings("unchecked")
class CheckpointsTest {

    @TempDir
    Path tmp;

    @Test
    void detectsFormatsByContent() throws IOException {
        assertThat(Checkpoints.detect(Fixtures.file("pt_plain.pth"))).isEqualTo(Checkpoints.Format.TORCH_ZIP);
        assertThat(Checkpoints.detect(Fixtures.file("st_fp16.safetensors"))).isEqualTo(Checkpoints.Format.SAFETENSORS);
        Path renamed = tmp.resolve("weights.bin");
        Files.copy(Fixtures.file("st_fp16.safetensors"), renamed);
        assertThat(Checkpoints.detect(renamed)).isEqualTo(Checkpoints.Format.SAFETENSORS);
        try (Checkpoint c = Checkpoints.open(renamed)) {
            Fixtures.assertMatches(c, "st_fp16.safetensors");
        }
    }

    @Test
    void legacyTorchFormatGetsAClearMessage() {
        Path p = Fixtures.file("pt_legacy.pth");
        assertThatThrownBy(() -> Checkpoints.open(p))
                .isInstanceOf(CheckpointException.class)
                .hasMessageStartingWith(p + ": legacy (non-zip) torch.save format")
                .hasMessageContaining("re-save it with torch >= 1.6 default serialization");
    }

    @Test
    void unknownFormats() throws IOException {
        Path p = tmp.resolve("random.ckpt");
        Files.write(p, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        assertThatThrownBy(() -> Checkpoints.open(p))
                .hasMessage(p + ": unrecognised checkpoint format (10 bytes starting 0x0102030405060708); expected a"
                        + " torch.save zip archive or a .safetensors file");
        Path missing = tmp.resolve("missing.pth");
        assertThatThrownBy(() -> Checkpoints.open(missing)).hasMessage(missing + ": no such file");
        // a .safetensors name sends even a broken file to the safetensors reader, for its precise message
        Path broken = tmp.resolve("broken.safetensors");
        Files.write(broken, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, 'x'});
        assertThatThrownBy(() -> Checkpoints.open(broken)).hasMessageContaining("header is not valid JSON");
    }

    @Test
    void safetensorsTruncationSurfacesThroughOpen() {
        Path p = Fixtures.file("st_truncated.safetensors");
        assertThatThrownBy(() -> Checkpoints.open(p)).hasMessageContaining(p.toString()).hasMessageContaining("'a.bias'");
    }

    @Test
    void plainStateDictIsUsedAsIs() {
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_plain.pth"))) {
            assertThat(c.format()).isEqualTo(Checkpoints.Format.TORCH_ZIP);
            assertThat(c.entry()).isEmpty();
            assertThat(c.strippedPrefix()).isEmpty();
            assertThat(c.ignored()).isEmpty();
            Fixtures.assertMatches(c, "pt_plain.pth");
        }
    }

    @Test
    void unwrapsModelAndKeepsTheRest() {
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_wrapped.pth"))) {
            assertThat(c.entry()).isEqualTo("model");
            Fixtures.assertMatches(c, "pt_wrapped.pth");
            assertThat(((Map<Object, Object>) c.root()).get("epoch")).isEqualTo(3L);
            assertThat(c.keys()).first().isEqualTo("0.weight");
        }
    }

    @Test
    void prefersModelOverEmaUnlessAsked() {
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_ema.pth"))) {
            assertThat(c.entry()).isEqualTo("model");
            Fixtures.assertMatches(c, "pt_ema.pth");
        }
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_ema.pth"), "model_ema")) {
            assertThat(c.entry()).isEqualTo("model_ema");
            Fixtures.assertMatches(c, "pt_ema.pth#model_ema");
        }
        Path p = Fixtures.file("pt_ema.pth");
        assertThatThrownBy(() -> Checkpoints.open(p, "state_dict_ema"))
                .hasMessage(p + ": no entry 'state_dict_ema' (top-level entries: model, model_ema, epoch)");
        assertThatThrownBy(() -> Checkpoints.open(p, "epoch"))
                .hasMessage(p + ": entry 'epoch': expected a dict of tensors, got int 5");
    }

    @Test
    void stripsModulePrefixAndListsIgnoredValues() {
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_module.pth"))) {
            assertThat(c.entry()).isEqualTo("state_dict");
            assertThat(c.strippedPrefix()).isEqualTo("module.");
            assertThat(c.keys()).containsExactly("x", "y.weight", "sub.a");
            Fixtures.assertMatches(c, "pt_module.pth");
            assertThat(c.ignored()).containsExactly(Map.entry("module.meta", "int 5"),
                    Map.entry("module.sub.note", "str 'hello'"));
        }
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_module.pth"),
                Checkpoints.Options.defaults().withStripModulePrefix(false))) {
            assertThat(c.keys()).containsExactly("module.x", "module.y.weight", "module.sub.a");
        }
    }

    @Test
    void flattensNestedDicts() {
        try (Checkpoint c = Checkpoints.open(Fixtures.file("pt_views.pth"))) {
            assertThat(c.keys()).contains("nested.blocks.0.w");
            assertThat(c.get("nested.blocks.0.w").toFloatArray()).containsExactly(3f, 3f);
        }
    }

    @Test
    void opaqueGlobalsOption() {
        Path p = Fixtures.file("pt_namespace.pth");
        assertThatThrownBy(() -> Checkpoints.open(p, Checkpoints.Options.defaults().withoutOpaqueGlobals()))
                .hasMessageContaining("'argparse.Namespace'");
        try (Checkpoint c = Checkpoints.open(p, Checkpoints.Options.defaults().withoutOpaqueGlobals().withOpaqueGlobals("argparse.Namespace"))) {
            assertThat(c.entry()).isEqualTo("model");
            Fixtures.assertMatches(c, "pt_namespace.pth");
        }
    }

    /** Swin-lineage training scripts save their yacs CfgNode (a dict subclass) as 'config': opened by default. */
    @Test
    void swinStyleTrainingCheckpointsAreAcceptedByDefault() {
        Path p = Fixtures.file("pt_cfgnode.pth");
        try (Checkpoint c = Checkpoints.open(p)) {
            assertThat(c.entry()).isEqualTo("model");
            Fixtures.assertMatches(c, "pt_cfgnode.pth");
            Object cfg = ((java.util.Map<?, ?>) c.root()).get("config");
            assertThat(cfg).isInstanceOf(PickledObject.class);
            PickledObject o = (PickledObject) cfg;
            assertThat(o.global()).isEqualTo("yacs.config.CfgNode");
            assertThat(o.items()).containsEntry("OUTPUT", "out").containsKey("MODEL");
            assertThat(((PickledObject) o.items().get("MODEL")).items()).containsEntry("TYPE", "swin");
        }
        assertThatThrownBy(() -> Checkpoints.open(p, Checkpoints.Options.defaults().withoutOpaqueGlobals()))
                .hasMessageContaining("'yacs.config.CfgNode'");
    }

    /** Training scripts save their argparse.Namespace as 'args' next to the weights: opened by default. */
    @Test
    void trainingScriptArgsAreAcceptedByDefault() {
        Path p = Fixtures.file("pt_namespace.pth");
        try (Checkpoint c = Checkpoints.open(p)) {
            assertThat(c.entry()).isEqualTo("model");
            Fixtures.assertMatches(c, "pt_namespace.pth");
        }
    }

    @Test
    void evilCheckpointIsRefusedThroughOpen() {
        Path p = Fixtures.file("pt_evil.pth");
        assertThatThrownBy(() -> Checkpoints.open(p))
                .hasMessage(p + ": pickle refers to global 'posix.system', which a state dict never needs; refusing to load");
    }

    @Test
    void checkpointWithoutTensors() throws IOException {
        Path p = tmp.resolve("meta.pth");
        // {'epoch': 3}
        TorchZipReaderTest.writeZip(p, Map.of("meta/data.pkl", new byte[] {(byte) 0x80, 2, '}', 'X', 5, 0, 0, 0,
                'e', 'p', 'o', 'c', 'h', 'K', 3, 's', '.'}));
        assertThatThrownBy(() -> Checkpoints.open(p)).hasMessage(p + ": no tensors found (top-level entries: epoch)");
    }

    @Test
    void safetensorsEntryAndPrefix() {
        Path p = tmp.resolve("prefixed.safetensors");
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("module.model.a", new FloatTensor(new long[] {1}, new float[] {1f}));
        m.put("module.model.b", new FloatTensor(new long[] {1}, new float[] {2f}));
        m.put("module.ema.a", new FloatTensor(new long[] {1}, new float[] {3f}));
        SafetensorsWriter.write(p, m, Map.of("format", "pt"));
        try (Checkpoint c = Checkpoints.open(p)) {
            assertThat(c.format()).isEqualTo(Checkpoints.Format.SAFETENSORS);
            assertThat(c.strippedPrefix()).isEqualTo("module.");
            assertThat(c.keys()).containsExactly("model.a", "model.b", "ema.a");
            assertThat(c.metadata()).containsEntry("format", "pt");
            assertThat(c.root()).isNull();
        }
        try (Checkpoint c = Checkpoints.open(p, "module.ema")) {
            assertThat(c.keys()).containsExactly("a");
            assertThat(c.get("a").toFloatArray()).containsExactly(3f);
        }
        assertThatThrownBy(() -> Checkpoints.open(p, "model")).hasMessageContaining("no entry 'model'");
    }
}
