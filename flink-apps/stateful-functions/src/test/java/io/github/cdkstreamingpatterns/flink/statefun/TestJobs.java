package io.github.cdkstreamingpatterns.flink.statefun;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.cdkstreamingpatterns.flink.common.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** Runs the runtime topology on the MiniCluster with in-memory sources and sinks. */
final class TestJobs {
    private TestJobs() {}

    /** Outputs of a finished job. */
    record Result(List<EgressRecord> egressRecords, List<DeadLetterRecord> deadLetterRecords, JobID jobId) {
        List<JsonNode> egress(String name) {
            return egressRecords.stream()
                    .filter(e -> e.egress.equals(name))
                    .map(e -> read(e.json))
                    .toList();
        }

        List<JsonNode> deadLetters() {
            return deadLetterRecords.stream().map(d -> read(json(d))).toList();
        }
    }

    /** The dead letter's JSON body, as the dead-letter sink writes it. */
    static String json(DeadLetterRecord d) {
        return new String(d.toJson(DeadLetters.ENCODING), StandardCharsets.UTF_8);
    }

    static JsonNode read(String json) {
        try {
            return FunctionServer.MAPPER.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }

    static Result runBounded(List<String> envelopes, DispatcherConfig config, int parallelism) throws Exception {
        return run(config, parallelism, env -> {
            DataStream<byte[]> data = env.fromData(
                    envelopes.stream()
                            .map(s -> s.getBytes(StandardCharsets.UTF_8))
                            .toList(),
                    PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
            // As Kinesis shards by partition key (the aggregate id), every event of an aggregate reaches one router
            // subtask, in order. A rebalance from the one-subtask source would reorder them.
            return parallelism == 1
                    ? data
                    : data.partitionCustom((key, n) -> Math.floorMod(key.hashCode(), n), TestJobs::aggregateIdOf);
        });
    }

    /** The envelope's aggregate id; the whole text for input that is not an envelope (the runtime dead-letters it). */
    private static String aggregateIdOf(byte[] envelope) {
        String text = new String(envelope, StandardCharsets.UTF_8);
        try {
            return FunctionServer.MAPPER.readTree(text).path("aggregateId").asText();
        } catch (Exception e) {
            return text;
        }
    }

    static Result run(
            DispatcherConfig config, int parallelism, Function<StreamExecutionEnvironment, DataStream<byte[]>> source)
            throws Exception {
        return run(StreamExecutionEnvironment.getExecutionEnvironment(), config, parallelism, source);
    }

    static Result run(
            StreamExecutionEnvironment env,
            DispatcherConfig config,
            int parallelism,
            Function<StreamExecutionEnvironment, DataStream<byte[]>> source)
            throws Exception {
        String id = UUID.randomUUID().toString();
        env.setParallelism(parallelism);
        StatefulFunctionsTopology.Outputs outputs = StatefulFunctionsTopology.build(source.apply(env), config);
        outputs.egress.sinkTo(new CollectingSink<>(id + "-egress"));
        outputs.deadLetters.sinkTo(new CollectingSink<>(id + "-dlq"));
        JobID jobId = env.execute("statefun-test").getJobID();
        return new Result(CollectingSink.results(id + "-egress"), CollectingSink.results(id + "-dlq"), jobId);
    }

    static String envelope(String eventId, String type, String aggregateId, ObjectNode payload) {
        ObjectNode node = FunctionServer.object();
        node.put("eventId", eventId);
        node.put("type", type);
        node.put("aggregateId", aggregateId);
        node.put("occurredAt", "2026-11-29T08:00:00Z");
        node.set("payload", payload);
        return node.toString();
    }

    /** module.json with the given function types served by the server, ingress routes and egress names. */
    static ModuleDefinition module(
            FunctionServer server,
            int maxAttempts,
            long timeoutMs,
            List<String> functionTypes,
            List<String[]> ingress,
            List<String> egress) {
        ObjectNode root = FunctionServer.object();
        ObjectNode functions = root.putObject("functions");
        for (String type : functionTypes) {
            functions
                    .putObject(type)
                    .put("endpoint", server.endpoint(type))
                    .put("timeoutMs", timeoutMs)
                    .put("maxAttempts", maxAttempts);
        }
        var routes = root.putArray("ingress");
        for (String[] route : ingress) {
            routes.addObject().put("eventType", route[0]).put("functionType", route[1]);
        }
        ObjectNode egresses = root.putObject("egress");
        for (String name : egress) {
            egresses.putObject(name).put("streamArn", "arn:aws:kinesis:eu-west-1:123456789012:stream/" + name);
        }
        return ModuleDefinition.parse(root.toString(), DispatcherConfig.DEFAULT_REQUEST_TIMEOUT_MS);
    }
}
