package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;

/**
 * Property group {@code Enrichment}: where the reference data lives and how often it is re-read.
 *
 * <p>Keys: {@code reference.s3.uri} (required, {@code s3://bucket/key}), {@code reference.refresh.seconds} (default
 * 300), {@code s3.endpoint} (optional, for a local S3 server), {@code s3.path.style} (default false), {@code
 * aws.region} (optional, not in the shared contract; defaults to the region passed by the caller, then to the SDK's
 * region chain).
 */
public final class EnrichmentSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final String REFERENCE_S3_URI = "reference.s3.uri";
    public static final String REFERENCE_REFRESH_SECONDS = "reference.refresh.seconds";
    public static final String S3_ENDPOINT = "s3.endpoint";
    public static final String S3_PATH_STYLE = "s3.path.style";
    public static final String AWS_REGION = "aws.region";

    private final String bucket;
    private final String key;
    private final Duration refreshInterval;
    private final String endpoint;
    private final boolean pathStyle;
    private final String region;

    public EnrichmentSettings(
            String bucket, String key, Duration refreshInterval, String endpoint, boolean pathStyle, String region) {
        if (bucket == null || bucket.isBlank() || key == null || key.isBlank()) {
            throw new IllegalArgumentException(
                    "reference bucket and key are required, got bucket=" + bucket + " key=" + key);
        }
        if (refreshInterval == null || refreshInterval.isZero() || refreshInterval.isNegative()) {
            throw new IllegalArgumentException(REFERENCE_REFRESH_SECONDS + " must be positive, got " + refreshInterval);
        }
        this.bucket = bucket;
        this.key = key;
        this.refreshInterval = refreshInterval;
        this.endpoint = blankToNull(endpoint);
        this.pathStyle = pathStyle;
        this.region = blankToNull(region);
    }

    /**
     * @param p the Enrichment group
     * @param fallbackRegion region used when the group has no {@code aws.region} (e.g. the KinesisSource region); may
     *     be null
     */
    public static EnrichmentSettings fromProperties(Properties p, String fallbackRegion) {
        String uri = p.getProperty(REFERENCE_S3_URI);
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException(REFERENCE_S3_URI + " is required (s3://bucket/key)");
        }
        URI parsed;
        try {
            parsed = new URI(uri.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(REFERENCE_S3_URI + " is not a URI: '" + uri + "'", e);
        }
        String path = parsed.getPath() == null ? "" : parsed.getPath().replaceFirst("^/", "");
        if (!"s3".equals(parsed.getScheme()) || parsed.getHost() == null || path.isEmpty()) {
            throw new IllegalArgumentException(REFERENCE_S3_URI + " must look like s3://bucket/key, got '" + uri + "'");
        }
        String pathStyle = p.getProperty(S3_PATH_STYLE, "false").trim();
        if (!pathStyle.equalsIgnoreCase("true") && !pathStyle.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException(S3_PATH_STYLE + " must be true or false, got '" + pathStyle + "'");
        }
        String region = p.getProperty(AWS_REGION);
        return new EnrichmentSettings(
                parsed.getHost(),
                path,
                Duration.ofSeconds(ProcessingSettings.longValue(p, REFERENCE_REFRESH_SECONDS, 300)),
                p.getProperty(S3_ENDPOINT),
                Boolean.parseBoolean(pathStyle),
                region == null || region.isBlank() ? fallbackRegion : region);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    public String bucket() {
        return bucket;
    }

    public String key() {
        return key;
    }

    public Duration refreshInterval() {
        return refreshInterval;
    }

    public Optional<String> endpoint() {
        return Optional.ofNullable(endpoint);
    }

    public boolean pathStyle() {
        return pathStyle;
    }

    public Optional<String> region() {
        return Optional.ofNullable(region);
    }

    /** s3://bucket/key, for messages. */
    public String uri() {
        return "s3://" + bucket + "/" + key;
    }
}
