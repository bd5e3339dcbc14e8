package org.attnzoo.zoo.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the time of a profiled run goes: ONNX Runtime's trace (a JSON array of Chrome-trace
 * events; each node run is an event of category {@code Node} named {@code <node>_kernel_time}
 * with {@code args.op_name} and {@code dur} in microseconds; each run is a {@code model_run}
 * event of category {@code Session}) summed per op type and per node, and divided by the number of
 * runs counted. The first run of a session pays for allocations and first-touch memory, so when the
 * trace has more than one run, the first is left out.
 */
record ProfileSummary(int runs, double totalMs, List<Entry> byOpType, List<Entry> byNode) {

    /** One op type or node: its time per run, how many kernel calls per run. */
    record Entry(String name, String opType, double msPerRun, double callsPerRun) {
    }

    static ProfileSummary read(Path trace) throws IOException {
        JsonNode events;
        try {
            events = new ObjectMapper().readTree(trace.toFile());
        } catch (IOException e) {
            throw new IOException(trace + ": not an ONNX Runtime profile: " + e.getMessage(), e);
        }
        if (events == null || !events.isArray()) throw new IOException(trace + ": not an ONNX Runtime profile (expected a JSON array of events)");
        List<double[]> runSpans = new ArrayList<>();
        for (JsonNode e : events) {
            if ("Session".equals(e.path("cat").asText()) && "model_run".equals(e.path("name").asText())) {
                runSpans.add(new double[]{e.path("ts").asDouble(), e.path("ts").asDouble() + e.path("dur").asDouble()});
            }
        }
        if (runSpans.isEmpty()) throw new IOException(trace + ": the profile has no model_run event (was the model run?)");
        runSpans.sort(Comparator.comparingDouble(r -> r[0]));
        double skipUntil = runSpans.size() > 1 ? runSpans.get(0)[1] : Double.NEGATIVE_INFINITY;
        int runs = runSpans.size() > 1 ? runSpans.size() - 1 : 1;
        Map<String, double[]> ops = new LinkedHashMap<>();
        Map<String, double[]> nodes = new LinkedHashMap<>();
        Map<String, String> nodeOp = new LinkedHashMap<>();
        double total = 0;
        for (JsonNode e : events) {
            if (!"Node".equals(e.path("cat").asText()) || !e.path("name").asText().endsWith("_kernel_time")) continue;
            if (e.path("ts").asDouble() <= skipUntil) continue;
            String op = e.path("args").path("op_name").asText("?");
            String node = e.path("name").asText().replaceFirst("_kernel_time$", "");
            double us = e.path("dur").asDouble();
            total += us;
            double[] o = ops.computeIfAbsent(op, k -> new double[2]);
            o[0] += us;
            o[1]++;
            double[] n = nodes.computeIfAbsent(node, k -> new double[2]);
            n[0] += us;
            n[1]++;
            nodeOp.put(node, op);
        }
        return new ProfileSummary(runs, total / 1e3 / runs, entries(ops, null, runs), entries(nodes, nodeOp, runs));
    }

    private static List<Entry> entries(Map<String, double[]> m, Map<String, String> opOf, int runs) {
        List<Entry> l = new ArrayList<>();
        m.forEach((k, v) -> l.add(new Entry(k, opOf == null ? k : opOf.get(k), v[0] / 1e3 / runs, v[1] / runs)));
        l.sort(Comparator.comparingDouble(Entry::msPerRun).reversed());
        return l;
    }

    void print(PrintWriter out, int top) {
        out.println(String.format(Locale.ROOT, "profile: %.2f ms of kernel time per run (%d profiled runs)", totalMs, runs));
        out.println("  by op type:");
        for (Entry e : byOpType.subList(0, Math.min(top, byOpType.size()))) {
            out.println(String.format(Locale.ROOT, "    %-28s %8.2f ms %5.1f %%  %6.0f calls", e.name(), e.msPerRun(),
                    100 * e.msPerRun() / totalMs, e.callsPerRun()));
        }
        out.println("  slowest nodes:");
        for (Entry e : byNode.subList(0, Math.min(top, byNode.size()))) {
            out.println(String.format(Locale.ROOT, "    %-52s %-18s %8.2f ms", e.name(), e.opType(), e.msPerRun()));
        }
    }
}
