package io.github.cdkstreamingpatterns.flink.enrichment;

import java.io.IOException;
import java.net.URI;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Reads the reference data object from S3 with the AWS SDK v2 (credentials from the default chain: the
 * application's role on Managed Flink, environment or profile locally).
 *
 * <p>Refreshes send the last ETag as {@code If-None-Match}; an unchanged object answers 304 and the already parsed
 * snapshot is returned without downloading it again, so a short refresh interval stays cheap.
 */
public final class S3ReferenceDataLoader implements ReferenceDataLoader {
    private static final long serialVersionUID = 1L;

    private final EnrichmentSettings settings;

    private transient S3Client client;
    private transient String lastEtag;
    private transient ReferenceData lastData;

    public S3ReferenceDataLoader(EnrichmentSettings settings) {
        this.settings = settings;
    }

    @Override
    public ReferenceData load() throws IOException {
        GetObjectRequest.Builder request =
                GetObjectRequest.builder().bucket(settings.bucket()).key(settings.key());
        if (lastEtag != null && lastData != null) {
            request.ifNoneMatch(lastEtag);
        }
        try (ResponseInputStream<GetObjectResponse> in = client().getObject(request.build())) {
            ReferenceData data = ReferenceDataParser.parse(in);
            lastEtag = in.response().eTag();
            lastData = data;
            return data;
        } catch (S3Exception e) {
            if (e.statusCode() == 304 && lastData != null) {
                return lastData;
            }
            String code =
                    e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            throw new IOException(
                    "cannot read " + settings.uri() + ": HTTP " + e.statusCode() + (code == null ? "" : " " + code), e);
        } catch (SdkException e) {
            throw new IOException("cannot read " + settings.uri() + ": " + e.getMessage(), e);
        }
    }

    private S3Client client() {
        if (client == null) {
            S3ClientBuilder builder = S3Client.builder()
                    .httpClientBuilder(UrlConnectionHttpClient.builder())
                    .forcePathStyle(settings.pathStyle());
            settings.region().ifPresent(r -> builder.region(Region.of(r)));
            settings.endpoint().ifPresent(e -> builder.endpointOverride(URI.create(e)));
            client = builder.build();
        }
        return client;
    }

    @Override
    public void close() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    EnrichmentSettings settings() {
        return settings;
    }
}
