package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Gateway;

/** scep.enabled: false against a real gateway and token. */
class ScepDisabledTest {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    /** scep.enabled: false: no SCEP routes, and the RA key is neither opened nor made (a token without one stays without). */
    @Test
    void disabledServesNoScepAndNeverTouchesTheRaKey() throws Exception {
        TestGateway off = TestGateway.startWithScep("enabled: false", Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), List.of());
        try {
            assertEquals(404, send(HTTP, HttpRequest.newBuilder(off.publicationBase().resolve("/scep?operation=GetCACaps")).GET().build())
                    .statusCode());
        } finally {
            off.close();
        }
        for (String type : List.of("privkey", "pubkey", "cert")) {
            SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(), "--token-label", off.hsm.tokenLabel, "--login",
                    "--pin", off.hsm.pin(), "--delete-object", "--type", type, "--label", "ca-p256-scep-ra"));
        }
        try (Gateway restarted = Gateway.start(off.config, off.clock)) {
            assertEquals(404, send(HTTP, HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + restarted.publicationPort()
                    + "/scep?operation=GetCACert")).GET().build()).statusCode());
        }
        String left = SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(), "--token-label", off.hsm.tokenLabel,
                "--login", "--pin", off.hsm.pin(), "--list-objects"));
        assertFalse(left.contains("ca-p256-scep-ra"), left);
    }

    private static HttpResponse<byte[]> send(HttpClient client, HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }
}
