package io.github.cdkstreamingpatterns.flink.statefun;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;

/** Signs function requests with SigV4 for API Gateway ({@code execute-api}) using the application's credentials. */
public final class SigV4RequestSigner implements RequestSigner {
    static final String SERVICE = "execute-api";

    private final String region;
    private final AwsCredentialsProvider credentials;
    private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();

    public SigV4RequestSigner(String region, AwsCredentialsProvider credentials) {
        this.region = region;
        this.credentials = credentials;
    }

    @Override
    public Map<String, List<String>> sign(URI uri, Map<String, List<String>> headers, byte[] body) {
        SdkHttpRequest.Builder request =
                SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri);
        headers.forEach(request::putHeader);
        SignedRequest signed = signer.sign(r -> r.identity(credentials.resolveCredentials())
                .request(request.build())
                .payload(ContentStreamProvider.fromByteArray(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, SERVICE)
                .putProperty(AwsV4HttpSigner.REGION_NAME, region));
        Map<String, List<String>> result = new LinkedHashMap<>();
        signed.request().forEachHeader(result::put);
        return result;
    }
}
