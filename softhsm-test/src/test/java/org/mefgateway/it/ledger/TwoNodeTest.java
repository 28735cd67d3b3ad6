package org.mefgateway.it.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;
import org.mefgateway.it.TestDatabase;

/**
 * Two gateway processes on one PostgreSQL and one token (two processes opening the same SoftHSM2
 * file token): they are one CA. A challenge handed out by one node is good exactly once on
 * either; a revocation on one node shows in the other's OCSP answers and CRL; serials never repeat.
 */
class TwoNodeTest {
    static DeviceMaker maker;
    static GatewayProcess a;
    static GatewayProcess b;
    static X509Certificate ca;
    static int devices;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        SoftHsm hsm = SoftHsm.fresh("mef-test");
        maker = DeviceMaker.create("Maker Cluster CA");
        Path trust = Nodes.trust(dir, maker);
        String store = TestDatabase.storeYaml(TestDatabase.postgres().newDatabase(), dir);
        // Node A creates the CA key on the token; node B's init finds it there and joins.
        a = GatewayProcess.init(Nodes.config(dir, "node-a", hsm, trust, store)).start();
        b = GatewayProcess.init(Nodes.config(dir, "node-b", hsm, trust, store)).start();
        ca = Pem.read(a.config.dataDir().caCertificate()).get(0);
    }

    @AfterAll
    static void stop() throws Exception {
        try (GatewayProcess first = a; GatewayProcess second = b) {
            // closes both, gracefully
        }
    }

    private static DeviceMaker.Device registered(String aeId) throws Exception {
        DeviceMaker.Device device = maker.device("cluster-" + (++devices));
        Nodes.register(a.config, device, "cluster-" + devices, aeId);
        return device;
    }

    @Test
    void bothNodesServeTheSameCaKey() throws Exception {
        assertEquals(ca, Pem.read(b.config.dataDir().caCertificate()).get(0));
    }

    @Test
    void aChallengeFromNodeAIsAcceptedOnceOnNodeBAndNeverAgainOnEither() throws Exception {
        String aeId = "//m2m.example.com/CSE1/once";
        DeviceMaker.Device device = registered(aeId);
        HttpClient client = Est.client(device, ca);
        String challenge = Est.challenge(client, a.est("/csrattrs"));

        HttpResponse<String> onB = Est.simpleenroll(client, b.est("/simpleenroll"), Est.csr(aeId, challenge));
        assertEquals(200, onB.statusCode(), onB.body());
        Est.certificate(onB).verify(ca.getPublicKey());

        HttpResponse<String> againOnB = Est.simpleenroll(client, b.est("/simpleenroll"), Est.csr(aeId, challenge));
        HttpResponse<String> againOnA = Est.simpleenroll(client, a.est("/simpleenroll"), Est.csr(aeId, challenge));
        assertEquals(403, againOnB.statusCode(), againOnB.body());
        assertEquals(403, againOnA.statusCode(), againOnA.body());
    }

    @Test
    void oneChallengeRacingOnBothNodesBuysOneCertificate() throws Exception {
        String aeId = "//m2m.example.com/CSE1/race";
        DeviceMaker.Device device = registered(aeId);
        HttpClient client = Est.client(device, ca);
        String challenge = Est.challenge(client, b.est("/csrattrs"));
        String csrA = Est.csr(aeId, challenge);
        String csrB = Est.csr(aeId, challenge);

        CompletableFuture<HttpResponse<String>> onA = CompletableFuture.supplyAsync(() -> call(client, a, csrA));
        CompletableFuture<HttpResponse<String>> onB = CompletableFuture.supplyAsync(() -> call(client, b, csrB));
        List<HttpResponse<String>> responses = List.of(onA.join(), onB.join());

        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 200).count(), responses.toString());
        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 403).count(), responses.toString());
        JsonArray ledger = new JsonArray(new AdminClient(b.config).get("/admin/certificates?enrolee=cluster-" + devices).body());
        assertEquals(1, ledger.size(), "one certificate in the shared ledger");
    }

    private static HttpResponse<String> call(HttpClient client, GatewayProcess node, String csr) {
        try {
            return Est.simpleenroll(client, node.est("/simpleenroll"), csr);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aCertificateRevokedOnNodeAIsRevokedInNodeBsOcspAndCrl(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/CSE1/revoked";
        DeviceMaker.Device device = registered(aeId);
        HttpClient client = Est.client(device, ca);
        HttpResponse<String> issued = Est.simpleenroll(client, b.est("/simpleenroll"), Est.csr(aeId, Est.challenge(client, b.est("/csrattrs"))));
        assertEquals(200, issued.statusCode(), issued.body());
        X509Certificate cert = Est.certificate(issued);
        String serial = cert.getSerialNumber().toString(16);
        Pem.write(dir.resolve("ca.pem"), ca);
        Pem.write(dir.resolve("leaf.pem"), cert);

        HttpResponse<String> revoked = new AdminClient(a.config).postJson("/admin/certificates/" + serial + "/revoke",
                "{\"reason\":\"keyCompromise\"}");
        assertEquals(200, revoked.statusCode(), revoked.body());

        String ocsp = Shell.ok(dir, "openssl", "ocsp", "-issuer", "ca.pem", "-CAfile", "ca.pem", "-cert", "leaf.pem",
                "-url", b.publication("/ocsp").toString());
        assertTrue(ocsp.contains("Response verify OK") && ocsp.contains("leaf.pem: revoked"), ocsp);

        HttpResponse<byte[]> crl = HttpClient.newHttpClient().send(HttpRequest.newBuilder(b.publication("/crl/ca.crl")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        Files.write(dir.resolve("ca.crl"), crl.body());
        String text = Shell.ok(dir, "openssl", "crl", "-inform", "DER", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout", "-text");
        assertTrue(text.contains("verify OK") && text.contains("Serial Number: " + Shell.opensslHex(serial)), text);

        JsonObject verify = new JsonObject(new AdminClient(b.config).get("/admin/audit/verify").body());
        assertEquals(true, verify.getBoolean("intact"), verify.encode());
    }

    @Test
    void enrolmentsSpreadOverBothNodesGetDistinctSerialsAllInTheLedger() throws Exception {
        List<CompletableFuture<X509Certificate>> enrolments = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String aeId = "//m2m.example.com/CSE1/spread-" + i;
            DeviceMaker.Device device = registered(aeId);
            GatewayProcess node = i % 2 == 0 ? a : b;
            enrolments.add(CompletableFuture.supplyAsync(() -> {
                try {
                    HttpClient client = Est.client(device, ca);
                    HttpResponse<String> r = Est.simpleenroll(client, node.est("/simpleenroll"),
                            Est.csr(aeId, Est.challenge(client, node.est("/csrattrs"))));
                    if (r.statusCode() != 200) {
                        throw new IllegalStateException(r.statusCode() + " " + r.body());
                    }
                    return Est.certificate(r);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        Set<String> serials = new HashSet<>();
        for (CompletableFuture<X509Certificate> e : enrolments) {
            serials.add(e.join().getSerialNumber().toString(16));
        }

        assertEquals(8, serials.size());
        Set<String> ledger = new HashSet<>();
        JsonArray all = new JsonArray(new AdminClient(a.config).get("/admin/certificates").body());
        for (int i = 0; i < all.size(); i++) {
            assertTrue(ledger.add(all.getJsonObject(i).getString("serial")), "serial twice in the ledger");
        }
        assertTrue(ledger.containsAll(serials));
    }
}
