package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** scep.rateLimit against a real gateway: SCEP's own per-client token bucket for PKIOperations. */
class ScepRateLimitTest {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    /** scep.rateLimit: beyond the bucket, a PKIOperation gets 429 + Retry-After; GetCACaps is not limited. */
    @Test
    void pkiOperationsBeyondTheClientsRateGet429() throws Exception {
        try (TestGateway limited = TestGateway.startWithScep("rateLimit: {perClientPerSecond: 1, perClientBurst: 2}",
                Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), List.of())) {
            URI scep = limited.publicationBase().resolve("/scep?operation=PKIOperation");
            byte[] garbage = {0x30, 0x03, 0x02, 0x01, 0x01};
            // The burst of 2 is served (400: the message is no pkiMessage); then one token a second
            // comes back, so a slow machine may serve a few more before the first 429: send until it
            // comes, at most 20, rather than count on 3 requests within one second.
            int served = 0;
            HttpResponse<byte[]> response = send(HTTP, post(scep, garbage));
            while (response.statusCode() == 400 && served < 20) {
                served++;
                response = send(HTTP, post(scep, garbage));
            }
            assertEquals(429, response.statusCode(), "after " + served + " served");
            assertTrue(served >= 2, "the burst of 2 is served first, got " + served);
            assertEquals("1", response.headers().firstValue("Retry-After").orElse(""));
            assertEquals(200, send(HTTP, HttpRequest.newBuilder(limited.publicationBase().resolve("/scep?operation=GetCACaps")).GET().build())
                    .statusCode());
        }
    }

    private static HttpRequest post(URI uri, byte[] message) {
        return HttpRequest.newBuilder(uri).header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(message)).build();
    }

    private static HttpResponse<byte[]> send(HttpClient client, HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }
}
