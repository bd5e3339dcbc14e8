package org.attnzoo.zoo.bench;

import org.attnzoo.sdk.graph.Graph;
import org.attnzoo.sdk.graph.OnnxModel;
import org.attnzoo.sdk.graph.Value;
import org.attnzoo.sdk.ops.NeighborhoodAttention;
import org.attnzoo.sdk.ops.NeighborhoodTiles;
import org.attnzoo.sdk.runtime.NdArray;
import org.attnzoo.sdk.runtime.OnnxSession;
import org.attnzoo.sdk.runtime.RuntimeOptions;
import org.attnzoo.sdk.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Latency of one NeighborhoodAttention2D, batch 1, NAT-like heads (head_dim 32), k = 7 with rpb,
 * on ONNX Runtime with 2 intra-op threads: the function body with the tile size the op chooses
 * ("chosen"), with forced tile sizes (1 = per-query gathers, 1000 = dense masked per dilation
 * group), and the dense masked-attention baseline over the whole map ("full"). The forms of one
 * size run interleaved, round by round, and each form's median over all rounds is printed.
 * Not a test: run its main. Args: [threads] [rounds] [runs per round] [sizes, e.g. 56,28,14,7].
 */
public final class NeighborhoodAttentionBench {
    private NeighborhoodAttentionBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--grid")) {
            grid(Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 2, args.length > 3 ? Integer.parseInt(args[3]) : 3,
                    args.length > 4 ? Integer.parseInt(args[4]) : 8);
            return;
        }
        if (args.length > 0 && args[0].equals("--emit")) {
            emit(Path.of(args[1]), args.length > 2 && args[2].equals("compare"));
            return;
        }
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        int[] sides = args.length > 3 ? Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray() : new int[]{56, 28, 14, 7};
        Path dir = Files.createTempDirectory("na-bench");
        System.out.printf("NA2D k=7 +rpb, batch 1, head_dim 32, ORT %d threads, median of %d interleaved rounds x %d runs (ms)%n", threads, rounds, runs);
        String[] forms = {"chosen", "t1", "t2", "t4", "t7", "t8", "t14", "dense", "full"};
        System.out.printf("%-7s %-5s %-3s %-8s", "map", "heads", "d", "chosen");
        for (String f : forms) System.out.printf(" %8s", f);
        System.out.println();
        for (int side : sides) {
            int heads = Math.max(2, 2 * 56 / side);
            for (int d : new int[]{1, 2, 4}) {
                if (7 * d > side) continue;
                int[] chosen = NeighborhoodTiles.choose(new int[]{side, side}, new int[]{7, 7}, new int[]{d, d}, new boolean[2], 32);
                List<String> names = new ArrayList<>();
                List<OnnxSession> sessions = new ArrayList<>();
                Map<String, NdArray> feeds = feeds(side, heads);
                for (String f : forms) {
                    int t = switch (f) {
                        case "chosen", "full" -> -1;
                        case "dense" -> 1000;
                        default -> Integer.parseInt(f.substring(1));
                    };
                    if (t > 0 && t != 1000 && t > (side + d - 1) / d) continue;
                    Path file = build(dir, side, heads, d, f, t);
                    names.add(f);
                    sessions.add(OnnxSession.open(file, RuntimeOptions.defaults().withThreads(threads).withSpinning(false)));
                }
                double[][] times = new double[names.size()][rounds * runs];
                for (OnnxSession s : sessions) for (int i = 0; i < 3; i++) s.run(feeds);
                for (int r = 0; r < rounds; r++) {
                    for (int j = 0; j < sessions.size(); j++) {
                        for (int i = 0; i < runs; i++) {
                            long t0 = System.nanoTime();
                            sessions.get(j).run(feeds);
                            times[j][r * runs + i] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                }
                for (OnnxSession s : sessions) s.close();
                System.out.printf("%-7s %-5d %-3d %-8s", side + "x" + side, heads, d, chosen[0]);
                for (String f : forms) {
                    int j = names.indexOf(f);
                    if (j < 0) {
                        System.out.printf(" %8s", "-");
                    } else {
                        Arrays.sort(times[j]);
                        System.out.printf(" %8.3f", times[j][times[j].length / 2]);
                    }
                }
                System.out.println();
            }
        }
    }

    /**
     * Times every tile size (1 to 32 and the whole group) of the signatures NAT uses (maps 56² to 7²,
     * dilations 1, 2, 4, k = 7, head_dim 32), sizes of one signature interleaved round by round, and
     * writes {@code side,heads,dilation,tile,tiles,tile_queries,union_keys,median_ms} to {@code out}:
     * the data {@link NeighborhoodTiles#choose}'s cost model is fitted to.
     */
    static void grid(Path out, int threads, int rounds, int runs) throws Exception {
        Path dir = Files.createTempDirectory("na-grid");
        StringBuilder csv = new StringBuilder("side,heads,dilation,tile,tiles,tile_queries,union_keys,median_ms\n");
        for (int side : new int[]{56, 28, 14, 7}) {
            int heads = Math.max(2, 2 * 56 / side);
            for (int d : new int[]{1, 2, 4}) {
                if (7 * d > side) continue;
                int lg = (side + d - 1) / d;
                List<Integer> tiles = new ArrayList<>();
                for (int t = 1; t <= Math.min(lg, 32); t++) tiles.add(t);
                if (lg > 32) tiles.add(lg);
                List<OnnxSession> sessions = new ArrayList<>();
                for (int t : tiles) {
                    sessions.add(OnnxSession.open(build(dir, side, heads, d, "t" + t, t), RuntimeOptions.defaults().withThreads(threads).withSpinning(false)));
                }
                Map<String, NdArray> feeds = feeds(side, heads);
                double[][] times = new double[tiles.size()][rounds * runs];
                for (OnnxSession s : sessions) for (int i = 0; i < 2; i++) s.run(feeds);
                for (int r = 0; r < rounds; r++) {
                    for (int j = 0; j < sessions.size(); j++) {
                        for (int i = 0; i < runs; i++) {
                            long t0 = System.nanoTime();
                            sessions.get(j).run(feeds);
                            times[j][r * runs + i] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                }
                for (OnnxSession s : sessions) s.close();
                for (int j = 0; j < tiles.size(); j++) {
                    int t = tiles.get(j);
                    int[] cs = NeighborhoodTiles.chunksAndSpan(side, 7, d, false, Math.min(t, lg));
                    Arrays.sort(times[j]);
                    csv.append(String.format(Locale.ROOT, "%d,%d,%d,%d,%d,%d,%d,%.4f%n", side, heads, d, t,
                            (long) cs[0] * cs[0], (long) Math.min(t, lg) * Math.min(t, lg), (long) cs[1] * cs[1], times[j][times[j].length / 2]));
                }
                System.out.printf("grid %dx%d d=%d: %d tile sizes%n", side, side, d, tiles.size());
                Files.writeString(out, csv.toString());
            }
        }
    }

    /**
     * Writes the grid of models (every map size, dilation and tile size, plus the masked baseline
     * where its table stays under 20 MB) to {@code dir} with a manifest, for timing elsewhere; with
     * {@code compare}, only the chosen tile size, per-query tiles (version 1's body) and the masked
     * baseline at every size.
     */
    static void emit(Path dir, boolean compare) throws Exception {
        Files.createDirectories(dir);
        StringBuilder manifest = new StringBuilder("file,side,heads,dilation,form,chosen\n");
        for (int side : new int[]{56, 28, 14, 7}) {
            int heads = Math.max(2, 2 * 56 / side);
            for (int d : new int[]{1, 2, 4}) {
                if (7 * d > side) continue;
                int[] chosen = NeighborhoodTiles.choose(new int[]{side, side}, new int[]{7, 7}, new int[]{d, d}, new boolean[2], 32);
                int lg = (side + d - 1) / d;
                List<Integer> tiles = new ArrayList<>();
                for (int t : new int[]{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 28}) if (t < lg && (!compare || t == 1 || t == chosen[0])) tiles.add(t);
                long n = (long) side * side;
                if (compare ? chosen[0] >= lg : n * n / ((long) d * d) * 8 < 20_000_000) tiles.add(lg);
                for (int t : tiles) {
                    Path f = build(dir, side, heads, d, "t" + t, t);
                    manifest.append(f.getFileName()).append(',').append(side).append(',').append(heads).append(',').append(d)
                            .append(",t").append(t).append(t == lg ? "(dense)" : "").append(',').append(chosen[0]).append('\n');
                }
                if (compare || n * n * 8 < 20_000_000) {
                    Path f = build(dir, side, heads, d, "full", -1);
                    manifest.append(f.getFileName()).append(',').append(side).append(',').append(heads).append(',').append(d)
                            .append(",full,").append(chosen[0]).append('\n');
                }
            }
        }
        Files.writeString(dir.resolve("manifest.csv"), manifest.toString());
    }

    static Map<String, NdArray> feeds(int side, int heads) {
        long[] shape = {1, heads, side, side, 32};
        Random r = new Random(2);
        int n = heads * side * side * 32;
        Map<String, NdArray> feeds = new LinkedHashMap<>();
        for (String name : new String[]{"q", "k", "v"}) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
            feeds.put(name, new NdArray(x, shape));
        }
        return feeds;
    }

    static Path build(Path dir, int side, int heads, int dil, String form, int tile) throws Exception {
        int hd = 32;
        Graph g = new Graph("bench");
        long[] shape = {1, heads, side, side, hd};
        Value q = g.input("q", DType.F32, shape), k = g.input("k", DType.F32, shape), v = g.input("v", DType.F32, shape);
        Random r = new Random(1);
        float[] rpbData = new float[heads * 13 * 13];
        for (int i = 0; i < rpbData.length; i++) rpbData[i] = (float) r.nextGaussian();
        Value rpb = g.constant("rpb", rpbData, heads, 13, 13);
        int[] kk = {7, 7}, dd = {dil, dil};
        float scale = (float) Math.pow(hd, -0.5);
        Value y = form.equals("full")
                ? NeighborhoodAttention.maskedFull(g, q, k, v, rpb, kk, dd, null, scale)
                : NeighborhoodAttention.opTiled(g, q, k, v, rpb, kk, dd, null, scale, false, tile < 0 ? null : new int[]{tile, tile});
        g.output(y, "y");
        Path file = dir.resolve(form + side + "_" + dil + ".onnx");
        OnnxModel.save(g, file);
        return file;
    }
}
