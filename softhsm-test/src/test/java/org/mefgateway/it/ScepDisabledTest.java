package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Gateway;
import org.mefgateway.gateway.admin.AdminClient;

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
            // An instruction naming SCEP would send the device to a protocol this MEF does not serve:
            // refused, and nothing registered; the same Enrolee over EST is.
            AdminClient admin = new AdminClient(off.config);
            String enrolee = "{\"id\":\"scep-off\",\"bootstrapFingerprint\":\"" + "ab".repeat(32)
                    + "\",\"certSubjectType\":3,\"certSubjectID\":\"//m2m.example.com/scep-off\"";
            HttpResponse<String> refused = admin.postJson("/admin/enrolees", enrolee + ",\"certProvProtocolID\":\"SCEP\"}");
            assertEquals(400, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("does not serve SCEP"), refused.body());
            assertFalse(admin.get("/admin/enrolees").body().contains("scep-off"), "not registered");
            assertEquals(201, admin.postJson("/admin/enrolees", enrolee + "}").statusCode());
            HttpResponse<String> instruct = admin.postJson("/admin/enrolees/scep-off/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
            assertEquals(400, instruct.statusCode(), instruct.body());
            io.vertx.core.json.JsonObject listed = new io.vertx.core.json.JsonArray(admin.get("/admin/enrolees").body()).stream()
                    .map(io.vertx.core.json.JsonObject.class::cast).filter(e -> "scep-off".equals(e.getString("id"))).findFirst().orElseThrow();
            assertEquals("EST", listed.getString("certProvProtocolID"), "the refused instruction changed nothing");
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
