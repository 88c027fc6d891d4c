package io.github.cdkstreamingpatterns.flink.statefun;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;

/** The request the server receives carries a SigV4 signature for execute-api that matches what was sent. */
class SigV4RequestSignerTest {
    private static final AwsBasicCredentials CREDENTIALS =
            AwsBasicCredentials.create("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    private FunctionServer server;

    @BeforeEach
    void start() throws Exception {
        server = new FunctionServer().route("order", call -> FunctionServer.Reply.ok(FunctionServer.response(null)));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void signsRequestsForExecuteApiWithTheHeadersActuallySent() throws Exception {
        ModuleDefinition module = ModuleDefinition.parse(
                "{\"functions\":{\"order\":{\"endpoint\":\"" + server.endpoint("order") + "\"}}}", 5000);
        byte[] body =
                "{\"address\":{\"type\":\"order\",\"id\":\"o-1\"},\"state\":null,\"stateVersion\":0,\"messages\":[]}"
                        .getBytes(StandardCharsets.UTF_8);
        try (RemoteFunctionClient client = new RemoteFunctionClient(
                2, new SigV4RequestSigner("eu-west-1", StaticCredentialsProvider.create(CREDENTIALS)))) {
            assertThat(client.invoke(module.function("order").orElseThrow(), body)
                            .get()
                            .succeeded())
                    .isTrue();
        }

        FunctionServer.Call call = server.calls().get(0);
        String authorization = header(call.headers(), "Authorization");
        String amzDate = header(call.headers(), "X-amz-date");
        Matcher m = Pattern.compile(
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\\d{8})/eu-west-1/execute-api/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}")
                .matcher(authorization);
        assertThat(m.matches()).as(authorization).isTrue();
        assertThat(m.group(2).split(";")).contains("host", "x-amz-date");
        assertThat(call.body()).isEqualTo(body);

        // Re-sign what the server saw, at the same instant: the signature must be identical.
        SdkHttpRequest.Builder seen =
                SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(java.net.URI.create(server.endpoint("order")));
        for (String name : m.group(2).split(";")) {
            seen.putHeader(name, header(call.headers(), name));
        }
        ZonedDateTime at = ZonedDateTime.parse(amzDate, DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssX"));
        String expected = AwsV4HttpSigner.create()
                .sign(r -> r.identity(CREDENTIALS)
                        .request(seen.build())
                        .payload(ContentStreamProvider.fromByteArray(call.body()))
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "execute-api")
                        .putProperty(AwsV4HttpSigner.REGION_NAME, "eu-west-1")
                        .putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(at.toInstant(), ZoneOffset.UTC)))
                .request()
                .firstMatchingHeader("Authorization")
                .orElseThrow();
        assertThat(authorization).isEqualTo(expected);
    }

    private static String header(Map<String, List<String>> headers, String name) {
        return headers.entrySet().stream()
                .filter(e -> e.getKey().equalsIgnoreCase(name))
                .map(e -> e.getValue().get(0))
                .findFirst()
                .orElseThrow(() -> new AssertionError("missing header " + name + " in " + headers.keySet()));
    }
}
