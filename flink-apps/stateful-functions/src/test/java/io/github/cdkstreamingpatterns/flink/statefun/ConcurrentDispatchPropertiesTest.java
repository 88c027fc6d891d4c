package io.github.cdkstreamingpatterns.flink.statefun;

import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.object;
import static io.github.cdkstreamingpatterns.flink.statefun.FunctionServer.response;
import static io.github.cdkstreamingpatterns.flink.statefun.TestJobs.envelope;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.cdkstreamingpatterns.flink.common.PropertySeed;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.util.TestStreamEnvironment;

/**
 * Per-address order under concurrency, for arbitrary interleavings of events across addresses: whatever the
 * interleaving, the concurrency limit, the parallelism and which calls fail once, every address receives its events
 * in the order they were produced, each exactly once, one call at a time, each call on the state the previous one
 * left (calls for different addresses run concurrently, up to the limit).
 */
class ConcurrentDispatchPropertiesTest {
    private static MiniCluster cluster;

    @BeforeContainer
    static void startCluster() throws Exception {
        Configuration conf = new Configuration();
        cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(4)
                .build());
        cluster.start();
        TestStreamEnvironment.setAsContext(cluster, 1);
    }

    @AfterContainer
    static void stopCluster() throws Exception {
        TestStreamEnvironment.unsetAsContext();
        cluster.close();
    }

    /** The address (index) of each event, in production order. */
    @Provide
    Arbitrary<List<Integer>> interleavings() {
        return Arbitraries.integers()
                .between(1, 12)
                .flatMap(addresses -> Arbitraries.integers()
                        .between(0, addresses - 1)
                        .list()
                        .ofMinSize(1)
                        .ofMaxSize(150));
    }

    @Property(seed = PropertySeed.SEED, tries = 12)
    void everyAddressGetsItsEventsInOrderExactlyOnceWhileAddressesRunConcurrently(
            @ForAll("interleavings") List<Integer> interleaving,
            @ForAll @IntRange(min = 1, max = 8) int maxConcurrentCalls,
            @ForAll @IntRange(min = 1, max = 2) int parallelism,
            @ForAll @IntRange(min = 0, max = 4) int failOnceModulo)
            throws Exception {
        // GIVEN events numbered per address in production order, and a function that counts what it applied and
        // fails the first attempt of some calls (stateVersion % failOnceModulo == 0; 0 = never)
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        try (FunctionServer server = new FunctionServer()) {
            server.route("seq", call -> {
                Thread.sleep(ThreadLocalRandom.current().nextInt(3));
                String attempt = call.address() + "@" + call.stateVersion();
                if (failOnceModulo > 0 && call.stateVersion() % failOnceModulo == 0 && failedOnce.add(attempt)) {
                    return new FunctionServer.Reply(503, "{\"error\":\"try again\"}");
                }
                long applied =
                        call.state() == null ? 0 : call.state().get("applied").asLong();
                return FunctionServer.Reply.ok(response(
                        object().put("applied", applied + call.messages().size())));
            });
            ModuleDefinition module = TestJobs.module(
                    server, 3, 5000, List.of("seq"), List.<String[]>of(new String[] {"Append", "seq"}), List.of());
            Map<Integer, Integer> produced = new LinkedHashMap<>();
            List<String> envelopes = new ArrayList<>();
            for (int a : interleaving) {
                int v = produced.merge(a, 1, Integer::sum) - 1;
                envelopes.add(envelope("e-" + a + "-" + v, "Append", "s" + a, object().put("v", v)));
            }

            // WHEN
            TestJobs.Result result = TestJobs.runBounded(
                    envelopes,
                    DispatcherConfig.builder(module)
                            .maxConcurrentCalls(maxConcurrentCalls)
                            .backoff(1, 5)
                            .build(),
                    parallelism);

            // THEN nothing was dead-lettered and no address had two calls at once
            assertThat(result.deadLetters()).isEmpty();
            assertThat(server.overlaps()).as("concurrent calls for one address").isEmpty();
            // AND the answered calls of each address, by stateVersion, carry its events once each, in order, each
            // call on the state the previous one left
            Map<String, List<FunctionServer.Call>> answered = new LinkedHashMap<>();
            Set<String> skipped = new HashSet<>();
            for (FunctionServer.Call call : server.calls()) {
                String attempt = call.address() + "@" + call.stateVersion();
                // Calls of one address never overlap, so the first one recorded is the attempt that got the 503.
                if (failedOnce.contains(attempt) && skipped.add(attempt)) {
                    continue;
                }
                answered.computeIfAbsent(call.address(), k -> new ArrayList<>()).add(call);
            }
            assertThat(answered.keySet())
                    .containsExactlyInAnyOrderElementsOf(
                            produced.keySet().stream().map(a -> "seq/s" + a).toList());
            for (Map.Entry<Integer, Integer> entry : produced.entrySet()) {
                List<FunctionServer.Call> calls = new ArrayList<>(answered.get("seq/s" + entry.getKey()));
                calls.sort(Comparator.comparingLong(FunctionServer.Call::stateVersion));
                assertThat(calls)
                        .extracting(FunctionServer.Call::stateVersion)
                        .containsExactlyElementsOf(
                                LongStream.range(0, calls.size()).boxed().toList());
                List<Integer> seen = new ArrayList<>();
                for (FunctionServer.Call call : calls) {
                    long applied = call.state() == null
                            ? 0
                            : call.state().get("applied").asLong();
                    assertThat(applied).as("state sent to %s", call.address()).isEqualTo(seen.size());
                    for (JsonNode message : call.messages()) {
                        seen.add(message.at("/payload/v").asInt());
                    }
                }
                assertThat(seen)
                        .as("events of s%d", entry.getKey())
                        .containsExactlyElementsOf(
                                IntStream.range(0, entry.getValue()).boxed().toList());
            }
        }
    }
}
