package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiter;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.util.TestStreamEnvironment;

/**
 * The {@code statefun-concurrency} row of {@code npm run bench} ({@code bench/rows/statefun.ts}): events/s through
 * the real runtime topology (ingress router, dedupe, {@link FunctionDispatcherOperator}, feedback tail) on a local
 * MiniCluster at parallelism 1, against {@link SlowFunctionServer} answering every call in {@code --latency-ms}.
 *
 * <p><b>The load.</b> Serial means every event waits for its address's previous call: a closed loop keeps one event
 * per address outstanding (a gate in front of the source lets event {@code k + addresses} out when an earlier one has
 * been answered), events going round-robin over the addresses. One address is then one call after another, one event
 * each: the baseline. A thousand addresses have a thousand events outstanding, so the runtime may run as many calls
 * at once as its concurrency setting allows. Rounds alternate which side runs first, after an untimed warm-up round
 * (full mode). An open-loop variant (the source
 * as fast as it goes, so events pile up behind in-flight calls and batch) is measured too and printed as notes: there
 * one address is not serial, since one call carries everything that arrived during the previous one.
 *
 * <p>Prints one JSON line: {@code {"variant","unit","subject":[..],"baseline":[..],"ratio":"speed","notes":[..]}}.
 * Fails (exit 1) if the function saw two calls at once for an address, or an address's messages out of order or
 * twice, or a dead letter was written.
 */
public final class StatefunConcurrencyBench {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Map<String, Gate> GATES = new ConcurrentHashMap<>();

    private StatefunConcurrencyBench() {}

    /** Settings from the command line: {@code --name value}. */
    private record Settings(
            String mode,
            int rounds,
            int addresses,
            long latencyMs,
            int maxConcurrentCalls,
            long warmupMs,
            long windowMs,
            boolean openLoop,
            boolean warmupRound) {
        static Settings parse(String[] args) {
            Map<String, String> a = new java.util.HashMap<>();
            for (int i = 0; i + 1 < args.length; i += 2) {
                if (!args[i].startsWith("--")) {
                    throw new IllegalArgumentException("expected --name value, got " + args[i]);
                }
                a.put(args[i].substring(2), args[i + 1]);
            }
            String mode = a.getOrDefault("mode", "full");
            if (!mode.equals("full") && !mode.equals("smoke")) {
                throw new IllegalArgumentException("--mode is full or smoke, got " + mode);
            }
            boolean smoke = mode.equals("smoke");
            return new Settings(
                    mode,
                    Integer.parseInt(a.getOrDefault("rounds", smoke ? "1" : "5")),
                    Integer.parseInt(a.getOrDefault("addresses", "1000")),
                    Long.parseLong(a.getOrDefault("latency-ms", "20")),
                    Integer.parseInt(a.getOrDefault(
                            "max-concurrent-calls", String.valueOf(DispatcherConfig.DEFAULT_MAX_CONCURRENT_CALLS))),
                    Long.parseLong(a.getOrDefault("warmup-ms", smoke ? "300" : "1500")),
                    Long.parseLong(a.getOrDefault("window-ms", smoke ? "700" : "3000")),
                    Boolean.parseBoolean(a.getOrDefault("open-loop", smoke ? "false" : "true")),
                    Boolean.parseBoolean(a.getOrDefault("warmup-round", smoke ? "false" : "true")));
        }
    }

    public static void main(String[] args) {
        int exit;
        try {
            exit = measure(Settings.parse(args));
        } catch (Throwable e) {
            e.printStackTrace();
            ObjectNode error = MAPPER.createObjectNode().put("error", String.valueOf(e));
            System.out.println(error.toString());
            exit = 1;
        }
        System.out.flush();
        // Flink's and the HTTP server's non-daemon threads must not keep the bench alive.
        System.exit(exit);
    }

    /** Runs the rounds and prints the result line; returns the exit code. */
    private static int measure(Settings s) throws Exception {
        // The JDK server keeps 200 idle connections by default; the runtime holds one per concurrent call.
        System.setProperty("sun.net.httpserver.maxIdleConnections", "20000");
        // Without TCP_NODELAY the server's separate header and body writes meet the client's delayed ACK: +40 ms.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        Configuration conf = new Configuration();
        conf.set(TaskManagerOptions.NUM_TASK_SLOTS, 1);
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(1)
                .build());
        cluster.start();
        TestStreamEnvironment.setAsContext(cluster, 1);
        ObjectNode out = MAPPER.createObjectNode();
        int exit = 0;
        try (SlowFunctionServer server = new SlowFunctionServer(s.latencyMs)) {
            ModuleDefinition module = module(server);
            DispatcherConfig config = DispatcherConfig.builder(module)
                    .maxConcurrentCalls(s.maxConcurrentCalls)
                    .build();
            List<Double> subject = new ArrayList<>();
            List<Double> baseline = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            if (s.warmupRound) {
                // Untimed: the JIT compiles the hot paths of both sides before any round counts.
                problems.addAll(run(server, config, s, s.addresses, false).problems);
                problems.addAll(run(server, config, s, 1, false).problems);
            }
            for (int round = 0; round < s.rounds; round++) {
                boolean subjectFirst = round % 2 == 0;
                for (int side = 0; side < 2; side++) {
                    boolean isSubject = (side == 0) == subjectFirst;
                    Run run = run(server, config, s, isSubject ? s.addresses : 1, false);
                    (isSubject ? subject : baseline).add(run.eventsPerSecond);
                    problems.addAll(run.problems);
                }
            }
            ArrayNode notes = MAPPER.createArrayNode();
            notes.add(String.format(
                    Locale.ROOT,
                    "closed loop, one event outstanding per address: %s addresses %.0f events/s, 1 address %.1f"
                            + " events/s (median; %d ms per call, max.concurrent.calls %d)",
                    s.addresses,
                    median(subject),
                    median(baseline),
                    s.latencyMs,
                    s.maxConcurrentCalls));
            if (s.openLoop) {
                Run many = run(server, config, s, s.addresses, true);
                Run one = run(server, config, s, 1, true);
                problems.addAll(many.problems);
                problems.addAll(one.problems);
                notes.add(String.format(
                        Locale.ROOT,
                        "open loop (source unthrottled, events batch behind in-flight calls): %s addresses %.0f"
                                + " events/s in %.0f calls/s, 1 address %.0f events/s in %.0f calls/s",
                        s.addresses,
                        many.eventsPerSecond,
                        many.callsPerSecond,
                        one.eventsPerSecond,
                        one.callsPerSecond));
            }
            out.put("variant", String.format(Locale.ROOT, "%,d addresses vs 1", s.addresses));
            out.put("unit", "events/s");
            subject.forEach(out.putArray("subject")::add);
            baseline.forEach(out.putArray("baseline")::add);
            out.put("ratio", "speed");
            out.set("notes", notes);
            if (!problems.isEmpty()) {
                out.put("error", String.join("; ", problems));
                exit = 1;
            }
        } finally {
            TestStreamEnvironment.unsetAsContext();
            cluster.close();
        }
        System.out.println(MAPPER.writeValueAsString(out));
        return exit;
    }

    private static ModuleDefinition module(SlowFunctionServer server) {
        ObjectNode root = MAPPER.createObjectNode();
        root.putObject("functions")
                .putObject("bench")
                .put("endpoint", server.endpoint("bench"))
                .put("timeoutMs", 10_000)
                .put("maxAttempts", 3);
        root.putArray("ingress").addObject().put("eventType", "Touch").put("functionType", "bench");
        root.putObject("egress");
        return ModuleDefinition.parse(root.toString(), DispatcherConfig.DEFAULT_REQUEST_TIMEOUT_MS);
    }

    /** What one job run measured. */
    private record Run(double eventsPerSecond, double callsPerSecond, List<String> problems) {}

    private static Run run(
            SlowFunctionServer functions, DispatcherConfig config, Settings s, int addresses, boolean openLoop)
            throws Exception {
        String id = UUID.randomUUID().toString();
        Gate gate = openLoop ? null : new Gate(addresses);
        if (gate != null) {
            GATES.put(id, gate);
        }
        SlowFunctionServer.Stats server = functions.reset(gate == null ? n -> {} : gate::release);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        // Flush network buffers at once: a serial event must not wait for a buffer to fill or time out.
        env.setBufferTimeout(0);
        DataGeneratorSource<byte[]> source = new DataGeneratorSource<>(
                new Envelopes(addresses),
                Long.MAX_VALUE,
                openLoop ? RateLimiterStrategy.noOp() : new GateStrategy(id),
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        DataStream<byte[]> envelopes = env.fromSource(source, WatermarkStrategy.noWatermarks(), "bench-envelopes");
        StatefulFunctionsTopology.Outputs outputs = StatefulFunctionsTopology.build(envelopes, config);
        outputs.egress.sinkTo(new DiscardingSink<>());
        String deadLetterSink = id + "-dead-letters";
        outputs.deadLetters.sinkTo(new CollectingSink<>(deadLetterSink));
        JobClient job = env.executeAsync("statefun-bench-" + addresses);
        List<String> problems = new ArrayList<>();
        double eventsPerSecond;
        double callsPerSecond;
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (server.messages() == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no call answered within 60 s");
                }
                Thread.sleep(5);
            }
            Thread.sleep(s.warmupMs);
            long m0 = server.messages();
            long c0 = server.calls();
            long t0 = System.nanoTime();
            Thread.sleep(s.windowMs);
            long m1 = server.messages();
            long c1 = server.calls();
            double seconds = (System.nanoTime() - t0) / 1e9;
            eventsPerSecond = (m1 - m0) / seconds;
            callsPerSecond = (c1 - c0) / seconds;
        } finally {
            job.cancel().get();
            while (!job.getJobStatus().get().isGloballyTerminalState()) {
                Thread.sleep(10);
            }
            GATES.remove(id);
        }
        if (server.violations() > 0) {
            problems.add(server.violations() + " protocol violations at " + addresses + " addresses, first: "
                    + server.firstViolation());
        }
        int deadLetters = CollectingSink.results(deadLetterSink).size();
        if (deadLetters > 0) {
            problems.add(deadLetters + " dead letters at " + addresses + " addresses");
        }
        return new Run(eventsPerSecond, callsPerSecond, problems);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(Double::compare);
        int mid = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(mid) : (sorted.get(mid - 1) + sorted.get(mid)) / 2;
    }

    /** Event {@code i} goes to address {@code i mod addresses} with payload {@code {"i": i}}. */
    private static final class Envelopes implements GeneratorFunction<Long, byte[]> {
        private static final long serialVersionUID = 1L;
        private final int addresses;

        Envelopes(int addresses) {
            this.addresses = addresses;
        }

        @Override
        public byte[] map(Long i) {
            return ("{\"eventId\":\"e-" + i + "\",\"type\":\"Touch\",\"aggregateId\":\"a-" + (i % addresses)
                            + "\",\"occurredAt\":\"2026-12-01T00:00:00Z\",\"payload\":{\"i\":" + i + "}}")
                    .getBytes(StandardCharsets.UTF_8);
        }
    }

    /**
     * Lets one event out per permit; permits start at the number of addresses and come back as the function answers
     * (one per message). Lives in this JVM, found by the run's id (the MiniCluster runs in the same JVM).
     */
    private static final class Gate {
        private static final CompletableFuture<Void> OPEN = CompletableFuture.completedFuture(null);
        private final ArrayDeque<CompletableFuture<Void>> waiting = new ArrayDeque<>();
        private long permits;

        Gate(long permits) {
            this.permits = permits;
        }

        synchronized CompletableFuture<Void> acquire() {
            if (permits > 0) {
                permits--;
                return OPEN;
            }
            CompletableFuture<Void> next = new CompletableFuture<>();
            waiting.add(next);
            return next;
        }

        void release(int n) {
            List<CompletableFuture<Void>> open = new ArrayList<>();
            synchronized (this) {
                int left = n;
                while (left > 0 && !waiting.isEmpty()) {
                    open.add(waiting.poll());
                    left--;
                }
                permits += left;
            }
            open.forEach(f -> f.complete(null));
        }
    }

    private static final class GateStrategy implements RateLimiterStrategy {
        private static final long serialVersionUID = 1L;
        private final String id;

        GateStrategy(String id) {
            this.id = id;
        }

        @Override
        public RateLimiter createRateLimiter(int parallelism) {
            Gate gate = GATES.get(id);
            return new RateLimiter() {
                @Override
                public CompletionStage<Void> acquire(int requestSize) {
                    CompletableFuture<Void> all = gate.acquire();
                    for (int i = 1; i < requestSize; i++) {
                        CompletableFuture<Void> next = gate.acquire();
                        all = all.thenCombine(next, (a, b) -> null);
                    }
                    return all;
                }
            };
        }
    }
}
