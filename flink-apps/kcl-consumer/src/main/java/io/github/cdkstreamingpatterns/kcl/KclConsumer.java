package io.github.cdkstreamingpatterns.kcl;

import io.github.cdkstreamingpatterns.flink.common.Backoff;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.arns.Arn;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClient;
import software.amazon.awssdk.services.cloudwatch.CloudWatchAsyncClientBuilder;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClientBuilder;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClientBuilder;
import software.amazon.kinesis.common.ConfigsBuilder;
import software.amazon.kinesis.common.InitialPositionInStreamExtended;
import software.amazon.kinesis.coordinator.Scheduler;
import software.amazon.kinesis.processor.ShardRecordProcessorFactory;
import software.amazon.kinesis.processor.SingleStreamTracker;
import software.amazon.kinesis.processor.StreamTracker;
import software.amazon.kinesis.retrieval.polling.PollingConfig;

/**
 * One KCL 3 worker: a {@link Scheduler} reading the stream by polling (GetRecords), with its leases in the
 * {@code <applicationName>} table, applying every record through {@link DeviceStateProcessor}. {@link #main} runs one
 * from environment variables (see {@link ConsumerSettings}) until SIGTERM, which ECS sends before stopping a task:
 * the shutdown hook then checkpoints and hands the leases over.
 */
public final class KclConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KclConsumer.class);
    /** ECS waits 30 s (the task's stopTimeout) between SIGTERM and SIGKILL. */
    private static final Duration GRACEFUL_SHUTDOWN = Duration.ofSeconds(25);

    private final ConsumerSettings settings;
    private final KinesisAsyncClient kinesis;
    private final DynamoDbAsyncClient dynamoDb;
    private final CloudWatchAsyncClient cloudWatch;
    private final Scheduler scheduler;
    private final Thread thread;
    private final ProcessingCounts counts = new ProcessingCounts();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    private KclConsumer(ConsumerSettings settings) {
        this.settings = settings;
        Region region = Region.of(settings.region());
        // HTTP/1.1: GetRecords needs no HTTP/2 (that is for SubscribeToShard), and kinesis-local serves 1.1 only.
        KinesisAsyncClientBuilder kinesisBuilder = KinesisAsyncClient.builder()
                .region(region)
                .httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP1_1));
        settings.kinesisEndpoint().ifPresent(kinesisBuilder::endpointOverride);
        DynamoDbAsyncClientBuilder dynamoBuilder = DynamoDbAsyncClient.builder().region(region);
        settings.dynamoDbEndpoint().ifPresent(dynamoBuilder::endpointOverride);
        CloudWatchAsyncClientBuilder cloudWatchBuilder =
                CloudWatchAsyncClient.builder().region(region);
        settings.cloudWatchEndpoint().ifPresent(cloudWatchBuilder::endpointOverride);
        kinesis = kinesisBuilder.build();
        dynamoDb = dynamoBuilder.build();
        cloudWatch = cloudWatchBuilder.build();

        DeviceStateTable table = new DeviceStateTable(dynamoDb, settings.stateTableName());
        Backoff backoff = Backoff.equalJitter(100, 10_000);
        ShardRecordProcessorFactory factory =
                () -> new DeviceStateProcessor(table, counts, stopping::get, backoff, System::currentTimeMillis);
        InitialPositionInStreamExtended initial =
                InitialPositionInStreamExtended.newInitialPosition(settings.initialPosition());
        StreamTracker tracker = settings.streamArn() != null
                ? new SingleStreamTracker(
                        software.amazon.kinesis.common.StreamIdentifier.singleStreamInstance(
                                Arn.fromString(settings.streamArn())),
                        initial)
                : new SingleStreamTracker(settings.streamName(), initial);
        ConfigsBuilder configs = new ConfigsBuilder(
                tracker, settings.applicationName(), kinesis, dynamoDb, cloudWatch, settings.workerId(), factory);
        scheduler = new Scheduler(
                configs.checkpointConfig(),
                configs.coordinatorConfig(),
                configs.leaseManagementConfig()
                        .failoverTimeMillis(settings.failoverTimeMillis())
                        .shardSyncIntervalMillis(settings.shardSyncIntervalMillis()),
                configs.lifecycleConfig(),
                configs.metricsConfig().metricsLevel(settings.metricsLevel()),
                configs.processorConfig(),
                configs.retrievalConfig().retrievalSpecificConfig(new PollingConfig(kinesis)));
        thread = new Thread(scheduler, "kcl-scheduler-" + settings.workerId());
    }

    /** Starts a worker on a thread of its own. */
    public static KclConsumer start(ConsumerSettings settings) {
        KclConsumer consumer = new KclConsumer(settings);
        consumer.thread.start();
        LOG.info(
                "worker {} started on {} (application {}, state table {})",
                settings.workerId(),
                settings.streamArn() != null ? settings.streamArn() : settings.streamName(),
                settings.applicationName(),
                settings.stateTableName());
        return consumer;
    }

    public static void main(String[] args) throws InterruptedException {
        KclConsumer consumer = start(ConsumerSettings.fromEnvironment(System.getenv()));
        Runtime.getRuntime().addShutdownHook(new Thread(consumer::close, "kcl-shutdown"));
        consumer.thread.join();
        if (!consumer.closed.get()) {
            // The scheduler gave up on its own (e.g. it could not initialize): exit non-zero so ECS starts a new task,
            // instead of idling with the SDK's threads alive.
            LOG.error("the KCL scheduler of worker {} stopped by itself", consumer.settings.workerId());
            System.exit(1);
        }
    }

    public ConsumerSettings settings() {
        return settings;
    }

    public ProcessingCounts counts() {
        return counts;
    }

    /** Shards this worker processes now. */
    public int ownedShards() {
        return scheduler.shardInfoShardConsumerMap().size();
    }

    /**
     * Graceful shutdown: every record processor checkpoints ({@code shutdownRequested}), the leases are released for
     * the other workers to take at once, then the clients close.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            scheduler.startGracefulShutdown().get(GRACEFUL_SHUTDOWN.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            LOG.warn("graceful shutdown of worker {} did not finish: {}", settings.workerId(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        finish();
    }

    /**
     * Stops at once, as a crashed task would: no checkpoint, no lease released. Other workers take the leases once they
     * expire ({@code failoverTimeMillis}) and read again from the last checkpoint.
     */
    public void halt() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        stopping.set(true);
        scheduler.shutdown();
        finish();
    }

    private void finish() {
        stopping.set(true);
        try {
            thread.join(GRACEFUL_SHUTDOWN.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        kinesis.close();
        dynamoDb.close();
        cloudWatch.close();
        LOG.info("worker {} stopped: {}", settings.workerId(), counts);
    }
}
