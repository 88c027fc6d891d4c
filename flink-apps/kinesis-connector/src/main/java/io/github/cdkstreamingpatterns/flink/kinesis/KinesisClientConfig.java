package io.github.cdkstreamingpatterns.flink.kinesis;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClientBuilder;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.KinesisClientBuilder;

/**
 * Where a Kinesis stream lives and how to reach it. Serializable so it travels inside sources and sinks; the SDK
 * clients themselves are built on the task managers.
 *
 * <p>Credentials come from the SDK's default provider chain (the Managed Flink service role in AWS; environment
 * variables or the {@code aws.accessKeyId}/{@code aws.secretAccessKey} system properties locally).
 */
public final class KinesisClientConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String STREAM_ARN = "stream.arn";
    public static final String REGION = "aws.region";
    public static final String ENDPOINT = "aws.endpoint";

    // arn:<partition>:kinesis:<region>:<account>:stream/<name>
    private static final Pattern STREAM_ARN_PATTERN =
            Pattern.compile("^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\\d{12}):stream/([A-Za-z0-9_.-]{1,128})$");
    private static final Pattern REGION_PATTERN = Pattern.compile("^[a-z]{2}(-[a-z]+)+-\\d+$");

    private final String streamArn;
    private final String region;
    private final String endpoint;

    private KinesisClientConfig(String streamArn, String region, String endpoint) {
        this.streamArn = streamArn;
        this.region = region;
        this.endpoint = endpoint;
    }

    /**
     * Reads {@code stream.arn}, {@code aws.region} and the optional {@code aws.endpoint} from one runtime property
     * group.
     *
     * @throws IllegalArgumentException naming the key and the value received when a value is missing or malformed
     */
    public static KinesisClientConfig fromProperties(Properties groupProps) {
        Objects.requireNonNull(groupProps, "groupProps");
        return of(groupProps.getProperty(STREAM_ARN), groupProps.getProperty(REGION), groupProps.getProperty(ENDPOINT));
    }

    /**
     * Validates and builds a config.
     *
     * @param endpoint endpoint override such as {@code http://127.0.0.1:4567}, or {@code null}/blank for the AWS
     *     endpoint of the region
     */
    public static KinesisClientConfig of(String streamArn, String region, String endpoint) {
        String arn = trimToNull(streamArn);
        String reg = trimToNull(region);
        String ep = trimToNull(endpoint);
        if (arn == null) {
            throw new IllegalArgumentException("Property '" + STREAM_ARN
                    + "' is required (arn:aws:kinesis:<region>:<account>:stream/<name>), got: " + quote(streamArn));
        }
        Matcher m = STREAM_ARN_PATTERN.matcher(arn);
        if (!m.matches()) {
            throw new IllegalArgumentException("Property '" + STREAM_ARN + "' must be a Kinesis stream ARN"
                    + " (arn:aws:kinesis:<region>:<12-digit account>:stream/<name>), got: " + quote(streamArn));
        }
        if (reg == null) {
            throw new IllegalArgumentException(
                    "Property '" + REGION + "' is required (for example us-east-1), got: " + quote(region));
        }
        if (!REGION_PATTERN.matcher(reg).matches()) {
            throw new IllegalArgumentException(
                    "Property '" + REGION + "' must be an AWS region such as us-east-1, got: " + quote(region));
        }
        // Kinesis resolves the ARN in the region the request is sent to; a mismatch only shows up later as a
        // confusing ResourceNotFound, so reject it here.
        if (!m.group(1).equals(reg)) {
            throw new IllegalArgumentException("Property '" + STREAM_ARN + "' names region '" + m.group(1) + "' but '"
                    + REGION + "' is '" + reg + "'; they must match. Got " + STREAM_ARN + "=" + quote(streamArn));
        }
        if (ep != null) {
            validateEndpoint(ep);
        }
        return new KinesisClientConfig(arn, reg, ep);
    }

    private static void validateEndpoint(String ep) {
        try {
            URI uri = new URI(ep);
            String scheme = uri.getScheme();
            if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
                throw new IllegalArgumentException("Property '" + ENDPOINT
                        + "' must be an http(s) URL such as http://127.0.0.1:4567, got: " + quote(ep));
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    "Property '" + ENDPOINT + "' is not a valid URL (" + e.getReason() + "), got: " + quote(ep), e);
        }
    }

    public String streamArn() {
        return streamArn;
    }

    /** The stream name, taken from the ARN. */
    public String streamName() {
        return streamArn.substring(streamArn.indexOf(":stream/") + ":stream/".length());
    }

    public String region() {
        return region;
    }

    public Optional<String> endpoint() {
        return Optional.ofNullable(endpoint);
    }

    /** A synchronous client on the lightweight URL-connection HTTP client; the caller closes it. */
    public KinesisClient buildClient() {
        KinesisClientBuilder builder = KinesisClient.builder()
                .region(Region.of(region))
                .credentialsProvider(DefaultCredentialsProvider.builder().build())
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(30)));
        if (endpoint != null) {
            builder.endpointOverride(URI.create(endpoint));
        }
        return builder.build();
    }

    /**
     * An asynchronous client on Netty; the caller closes it.
     *
     * @param maxConcurrency upper bound of concurrent requests (connections for HTTP/1.1)
     */
    public KinesisAsyncClient buildAsyncClient(int maxConcurrency) {
        NettyNioAsyncHttpClient.Builder http = NettyNioAsyncHttpClient.builder()
                .maxConcurrency(maxConcurrency)
                .connectionTimeout(Duration.ofSeconds(10))
                .readTimeout(Duration.ofSeconds(60));
        if (endpoint != null) {
            // Local servers such as kinesis-local speak HTTP/1.1 only; the SDK would otherwise negotiate HTTP/2.
            http.protocol(Protocol.HTTP1_1);
        }
        KinesisAsyncClientBuilder builder = KinesisAsyncClient.builder()
                .region(Region.of(region))
                .credentialsProvider(DefaultCredentialsProvider.builder().build())
                .httpClientBuilder(http);
        if (endpoint != null) {
            builder.endpointOverride(URI.create(endpoint));
        }
        return builder.build();
    }

    private static String trimToNull(String s) {
        if (s == null) {
            return null;
        }
        String t = s.trim();
        return t.isEmpty() ? null : t;
    }

    private static String quote(String s) {
        return s == null ? "<missing>" : "'" + s + "'";
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof KinesisClientConfig)) {
            return false;
        }
        KinesisClientConfig that = (KinesisClientConfig) o;
        return streamArn.equals(that.streamArn)
                && region.equals(that.region)
                && Objects.equals(endpoint, that.endpoint);
    }

    @Override
    public int hashCode() {
        return Objects.hash(streamArn, region, endpoint);
    }

    @Override
    public String toString() {
        return "KinesisClientConfig{streamArn='" + streamArn + "', region='" + region + "', endpoint="
                + (endpoint == null ? "<default>" : "'" + endpoint + "'") + '}';
    }
}
