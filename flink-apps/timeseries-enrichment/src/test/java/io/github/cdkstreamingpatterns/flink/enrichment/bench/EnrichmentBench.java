package io.github.cdkstreamingpatterns.flink.enrichment.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.Json;
import io.github.cdkstreamingpatterns.flink.enrichment.DeadLetterSerializationSchema;
import io.github.cdkstreamingpatterns.flink.enrichment.EnrichedRecord;
import io.github.cdkstreamingpatterns.flink.enrichment.EnrichedRecordSerializationSchema;
import io.github.cdkstreamingpatterns.flink.enrichment.EnrichmentJob;
import io.github.cdkstreamingpatterns.flink.enrichment.ParseResult;
import io.github.cdkstreamingpatterns.flink.enrichment.ProcessingSettings;
import io.github.cdkstreamingpatterns.flink.enrichment.ReferenceData;
import io.github.cdkstreamingpatterns.flink.enrichment.ReferenceDataLoader;
import io.github.cdkstreamingpatterns.flink.enrichment.ReferenceDataParser;
import io.github.cdkstreamingpatterns.flink.enrichment.TelemetryParser;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.util.Collector;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kinesis.model.Record;

/**
 * Throughput of the enrichment job's graph on one core (parallelism 1, a local mini cluster in this JVM), for {@code
 * bench/rows/flink.ts}. Three jobs read the same pre-generated records from {@link BenchKinesisSource}:
 *
 * <ul>
 *   <li>{@code source}: the source and the job's record-data step, payloads discarded;
 *   <li>{@code passthrough}: the same, then the job's deserializer ({@link TelemetryParser}) and the enriched
 *       record's serializer, into a discarding sink;
 *   <li>{@code enrichment}: the job's real graph ({@link EnrichmentJob#build}: validate, dedupe by eventId,
 *       watermarks, enrich, both serializers), into discarding sinks.
 * </ul>
 *
 * <p>Each job runs {@code --warmup} times untimed, then {@code --rounds} times, the three interleaved with a different
 * one first in every round. Writes {@code {"records":n,"rounds":[{"source":{...},...}]}} to {@code --out}: per job
 * and round the wall, process CPU and Java-thread CPU nanoseconds from the first fetch to the end of the last sink.
 *
 * <p>Arguments: {@code --records <file>} (records as written by bench/rows/flink.ts: per record a big-endian u16
 * partition key length, the key, a u32 data length, the data), {@code --reference <file>} (reference data, JSON
 * Lines), {@code --rounds}, {@code --warmup}, {@code --out <file>}, optionally {@code --jobs} (a comma-separated
 * subset, for profiling one job) and {@code --state-backend} ({@code hashmap}, the default, or {@code rocksdb}, which
 * Managed Flink runs).
 */
public final class EnrichmentBench {
    static final String[] JOBS = {"source", "passthrough", "enrichment"};

    private EnrichmentBench() {}

    public static void main(String[] args) {
        int status = 1;
        try {
            run(args);
            status = 0;
        } catch (Exception | Error e) {
            e.printStackTrace();
        }
        // Some of the mini cluster's threads are not daemons and can outlive it (or a failed start).
        System.exit(status);
    }

    private static void run(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got '" + args[i] + "'");
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        List<Record> records = readRecords(Path.of(require(opts, "records")));
        String reference = Files.readString(Path.of(require(opts, "reference")), StandardCharsets.UTF_8);
        int rounds = Integer.parseInt(opts.getOrDefault("rounds", "5"));
        int warmup = Integer.parseInt(opts.getOrDefault("warmup", "2"));
        Path out = Path.of(require(opts, "out"));
        String[] jobs = opts.getOrDefault("jobs", String.join(",", JOBS)).split(",");
        String stateBackend = opts.getOrDefault("state-backend", "hashmap");

        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                // Any free port: 8081 may be taken by another local cluster.
                .setConfiguration(new Configuration().set(RestOptions.BIND_PORT, "0"))
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(1)
                .build());
        cluster.start();
        try {
            Bench bench = new Bench(cluster, records, reference, stateBackend);
            for (int w = 0; w < warmup; w++) {
                for (String job : jobs) {
                    bench.run(job);
                }
            }
            ObjectNode result = Json.object();
            result.put("records", records.size());
            ArrayNode samples = result.putArray("rounds");
            for (int r = 0; r < rounds; r++) {
                ObjectNode round = samples.addObject();
                for (int j = 0; j < jobs.length; j++) {
                    String job = jobs[(r + j) % jobs.length];
                    BenchMeter.Sample s = bench.run(job);
                    ObjectNode o = round.putObject(job);
                    o.put("wallNanos", s.wallNanos);
                    o.put("cpuNanos", s.cpuNanos);
                    o.put("threadCpuNanos", s.threadCpuNanos);
                    o.put("gcMillis", s.gcMillis);
                    o.put("sinkRecords", s.sinkRecords);
                    o.put("sinkBytes", s.sinkBytes);
                }
            }
            Files.writeString(out, Json.write(result), StandardCharsets.UTF_8);
        } finally {
            try {
                cluster.closeAsync().get(30, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                System.err.println("the mini cluster did not shut down within 30 s; exiting anyway");
            }
        }
    }

    private static String require(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    /** The records file as SDK records, with sequence numbers and arrival times like GetRecords returns. */
    static List<Record> readRecords(Path file) throws IOException {
        List<Record> out = new ArrayList<>();
        Instant arrival = Instant.now();
        try (InputStream in = Files.newInputStream(file);
                DataInputStream data = new DataInputStream(new java.io.BufferedInputStream(in))) {
            while (true) {
                int keyLength;
                try {
                    keyLength = data.readUnsignedShort();
                } catch (EOFException end) {
                    break;
                }
                byte[] key = data.readNBytes(keyLength);
                byte[] payload = data.readNBytes(data.readInt());
                String sequence =
                        "4959033827149025660855969253836157109592157598913" + String.format("%07d", out.size());
                out.add(Record.builder()
                        .data(SdkBytes.fromByteArrayUnsafe(payload))
                        .partitionKey(new String(key, StandardCharsets.UTF_8))
                        .sequenceNumber(sequence)
                        .approximateArrivalTimestamp(arrival)
                        .build());
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no records");
        }
        return out;
    }

    /** Builds and runs the three jobs. */
    private static final class Bench {
        private final MiniCluster cluster;
        private final List<Record> records;
        private final String reference;
        private final ProcessingSettings processing = ProcessingSettings.defaults();
        private final String stateBackend;

        Bench(MiniCluster cluster, List<Record> records, String reference, String stateBackend) {
            this.cluster = cluster;
            this.stateBackend = stateBackend;
            this.records = records;
            this.reference = reference;
        }

        BenchMeter.Sample run(String job) throws Exception {
            StreamExecutionEnvironment env = new TestStreamEnvironment(cluster, 1);
            // The job's own settings (object reuse), for all three jobs alike.
            EnrichmentJob.configure(env);
            env.configure(new Configuration().set(StateBackendOptions.STATE_BACKEND, stateBackend));
            DataStream<byte[]> raw = EnrichmentJob.recordData(env, new BenchKinesisSource("records", records));
            switch (job) {
                case "source":
                    BenchMeter.reset(1);
                    raw.sinkTo(new BenchSink<byte[]>(payload -> payload));
                    break;
                case "passthrough":
                    BenchMeter.reset(1);
                    raw.process(new PassThrough(processing))
                            .returns(TypeInformation.of(EnrichedRecord.class))
                            .sinkTo(new BenchSink<>(new EnrichedRecordSerializationSchema()));
                    break;
                case "enrichment":
                    BenchMeter.reset(2);
                    EnrichmentJob.build(
                            raw,
                            processing,
                            new InMemoryReference(reference),
                            Duration.ofHours(1),
                            new BenchSink<>(new EnrichedRecordSerializationSchema()),
                            new BenchSink<>(new DeadLetterSerializationSchema()));
                    break;
                default:
                    throw new IllegalArgumentException("unknown job " + job);
            }
            env.execute("bench-" + job);
            return BenchMeter.sample();
        }
    }

    /** The job's deserializer and the enriched record, without dedupe, enrichment or dead letters. */
    static final class PassThrough extends ProcessFunction<byte[], EnrichedRecord> {
        private static final long serialVersionUID = 1L;
        private final TelemetryParser parser;

        PassThrough(ProcessingSettings settings) {
            this.parser = new TelemetryParser(settings);
        }

        @Override
        public void processElement(byte[] payload, Context ctx, Collector<EnrichedRecord> out) {
            long now = ctx.timerService().currentProcessingTime();
            ParseResult result = parser.parse(payload, now);
            if (result.isValid()) {
                out.collect(EnrichedRecord.of(result.record(), null, now));
            }
        }
    }

    /** Reference data from a JSON Lines text, parsed by the job's parser. */
    static final class InMemoryReference implements ReferenceDataLoader {
        private static final long serialVersionUID = 1L;
        private final String jsonLines;

        InMemoryReference(String jsonLines) {
            this.jsonLines = jsonLines;
        }

        @Override
        public ReferenceData load() throws IOException {
            return ReferenceDataParser.parse(new ByteArrayInputStream(jsonLines.getBytes(StandardCharsets.UTF_8)));
        }
    }
}
