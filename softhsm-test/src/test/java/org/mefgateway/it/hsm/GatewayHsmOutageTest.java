package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Gateway;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Initialiser;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.it.SoftHsm;

/**
 * A running gateway through an HSM outage: /health/ready turns 503 with {@code hsm: DOWN} while
 * the token is out of service and 200 again once it is back, without a restart; /metrics shows
 * the circuit. The fault and the staged outage are those of {@link TokenFaultTest}: every session
 * of the process on the slot closed (real), re-login prevented by withholding the PIN file.
 */
class GatewayHsmOutageTest {

    @Test
    void readinessFollowsTheHsmThroughAnOutageWithoutRestart() throws Exception {
        SoftHsm hsm = SoftHsm.fresh("outage-test");
        Path dir = hsm.dir.resolve("var");
        Path yaml = hsm.dir.resolve("mefgate.yaml");
        Files.writeString(yaml, String.join("\n",
                "dataDir: " + dir,
                "est: {host: 127.0.0.1, port: 0}",
                "admin: {host: 127.0.0.1, port: 0}",
                "hsm: {library: " + SoftHsm.LIBRARY + ", tokenLabel: outage-test, keyLabel: ca-p256, pinFile: " + hsm.pinFile
                        + ", signerThreads: 2}",
                "ca: {subject: 'CN=Outage Test Root', validityDays: 30}",
                ""));
        GatewayConfig config = GatewayConfig.load(yaml);
        new Initialiser(config, line -> { }).run();
        long slot;
        // Not closed: closing would log the whole process out of the token.
        slot = Pkcs11Token.open(config.hsm()).slot();
        Pkcs11Sessions sessions = new Pkcs11Sessions(SoftHsm.LIBRARY, slot);

        try (Gateway gateway = Gateway.start(config, Clock.systemUTC())) {
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, TlsMaterial.trustManagers(List.of(Pem.read(config.dataDir().caCertificate()).get(0))).getTrustManagers(), null);
            HttpClient client = HttpClient.newBuilder().sslContext(tls).build();
            URI ready = URI.create("https://127.0.0.1:" + gateway.adminPort() + "/health/ready");
            URI metrics = URI.create("https://127.0.0.1:" + gateway.adminPort() + "/metrics");

            assertEquals(200, get(client, ready).statusCode());

            Path withheld = hsm.pinFile.resolveSibling("user.pin.withheld");
            Files.move(hsm.pinFile, withheld);
            sessions.closeAll();
            HttpResponse<String> down = until(client, ready, 503);
            assertEquals("DOWN", new JsonObject(down.body()).getString("hsm"), down.body());
            assertEquals("UP", new JsonObject(down.body()).getString("store"), down.body());
            assertTrue(get(client, metrics).body().contains("mef_hsm_circuit_state{key=\"default\",token=\"outage-test\"} 1.0"));

            Files.move(withheld, hsm.pinFile);
            until(client, ready, 200);
            String scrape = get(client, metrics).body();
            assertTrue(scrape.contains("mef_hsm_circuit_state{key=\"default\",token=\"outage-test\"} 0.0"), scrape);
            assertTrue(scrape.contains("mef_hsm_reinitialisations_total{key=\"default\",outcome=\"success\",token=\"outage-test\"} 1.0"), scrape);
        }
    }

    private static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Polls (up to a minute, so a broken gateway fails rather than hangs the test) until the status is reached. */
    private static HttpResponse<String> until(HttpClient client, URI uri, int status) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (true) {
            HttpResponse<String> r = get(client, uri);
            if (r.statusCode() == status) {
                return r;
            }
            assertTrue(Instant.now().isBefore(deadline), "still " + r.statusCode() + " " + r.body());
            Thread.sleep(50);
        }
    }
}
