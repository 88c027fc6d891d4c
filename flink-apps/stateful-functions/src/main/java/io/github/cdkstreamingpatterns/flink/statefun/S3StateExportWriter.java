package io.github.cdkstreamingpatterns.flink.statefun;

import java.net.URI;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;

/** Writes exports to S3 (PutObject), honouring the endpoint override and path-style settings for local servers. */
final class S3StateExportWriter implements StateExportWriter {
    private final S3Client s3;
    private final String bucket;

    private S3StateExportWriter(S3Client s3, String bucket) {
        this.s3 = s3;
        this.bucket = bucket;
    }

    static S3StateExportWriter create(StateExportConfig config) {
        return create(config, DefaultCredentialsProvider.builder().build());
    }

    static S3StateExportWriter create(StateExportConfig config, AwsCredentialsProvider credentials) {
        S3ClientBuilder builder = S3Client.builder()
                .httpClientBuilder(UrlConnectionHttpClient.builder())
                .credentialsProvider(credentials)
                // Plain (non aws-chunked) bodies: S3 accepts them and so do local S3-compatible servers.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .serviceConfiguration(
                        S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .region(resolveRegion(config))
                .forcePathStyle(config.pathStyle());
        if (config.endpoint() != null) {
            builder.endpointOverride(URI.create(config.endpoint()));
        }
        return new S3StateExportWriter(builder.build(), config.bucket());
    }

    private static Region resolveRegion(StateExportConfig config) {
        if (config.region() != null) {
            return Region.of(config.region());
        }
        try {
            return new DefaultAwsRegionProviderChain().getRegion();
        } catch (RuntimeException e) {
            // Local S3-compatible servers ignore the region, but the SDK insists on one.
            return Region.US_EAST_1;
        }
    }

    @Override
    public void write(String objectKey, byte[] jsonLines) {
        s3.putObject(
                r -> r.bucket(bucket).key(objectKey).contentType("application/x-ndjson"),
                RequestBody.fromBytes(jsonLines));
    }

    @Override
    public void close() {
        s3.close();
    }
}
