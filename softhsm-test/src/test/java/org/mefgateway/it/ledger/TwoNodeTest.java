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
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
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
import org.mefgateway.it.TestCsr;
import org.mefgateway.it.TestDatabase;
import org.mefgateway.policy.Oids;

/**
 * Two gateway processes on one PostgreSQL and one token (two processes opening the same SoftHSM2
 * file token): they are one CA. A challenge handed out by one node is good exactly once on
 * either, and an instruction buys one certificate on either (each refusal asserted by its rule,
 * so the two are told apart); a revocation on one node shows in the other's OCSP answers and CRL;
 * serials never repeat.
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

    /**
     * After the certificate the operator instructs the Enrolee again, so that its command is
     * pending and what refuses the challenge on either node is the challenge's own single use
     * ({@code challenge.unused}), not the spent command; a fresh challenge then gets the certificate.
     */
    @Test
    void aChallengeFromNodeAIsAcceptedOnceOnNodeBAndNeverAgainOnEither() throws Exception {
        String aeId = "//m2m.example.com/CSE1/once";
        DeviceMaker.Device device = registered(aeId);
        String id = "cluster-" + devices;
        HttpClient client = Est.client(device, ca);
        String challenge = Est.challenge(client, a.est("/csrattrs"));

        HttpResponse<String> onB = Est.simpleenroll(client, b.est("/simpleenroll"), Est.csr(aeId, challenge));
        assertEquals(200, onB.statusCode(), onB.body());
        Est.certificate(onB).verify(ca.getPublicKey());
        HttpResponse<String> instructed = new AdminClient(a.config).postJson("/admin/enrolees/" + id + "/instruct", "");
        assertEquals(200, instructed.statusCode(), instructed.body());

        HttpResponse<String> againOnB = Est.simpleenroll(client, b.est("/simpleenroll"), Est.csr(aeId, challenge));
        HttpResponse<String> againOnA = Est.simpleenroll(client, a.est("/simpleenroll"), Est.csr(aeId, challenge));
        assertRefusedBy("challenge.unused", againOnB);
        assertRefusedBy("challenge.unused", againOnA);
        HttpResponse<String> fresh = Est.simpleenroll(client, a.est("/simpleenroll"), Est.csr(aeId, Est.challenge(client, b.est("/csrattrs"))));
        assertEquals(200, fresh.statusCode(), "the command was pending, only the challenge was spent: " + fresh.body());
        assertEquals(2, certificatesOf(id), "two instructions, two certificates in the shared ledger");
    }

    /**
     * A renewal claims no command, so of two renewals racing with one challenge on the two nodes
     * only the challenge can refuse the loser: {@code challenge.unused}, whether its node decided
     * before the winner claimed it (the claim fails) or after (policy sees it used).
     */
    @Test
    void oneChallengeRacingOnBothNodesBuysOneCertificate() throws Exception {
        String aeId = "//m2m.example.com/CSE1/race";
        DeviceMaker.Device device = registered(aeId);
        String id = "cluster-" + devices;
        HttpClient bootstrap = Est.client(device, ca);
        KeyPair keys = TestCsr.keys("EC", new ECGenParameterSpec("secp256r1"));
        HttpResponse<String> first = Est.simpleenroll(bootstrap, a.est("/simpleenroll"), TestCsr.p256().keys(keys).subject("CN=" + aeId)
                .challenge(Est.challenge(bootstrap, a.est("/csrattrs"))).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40").base64());
        assertEquals(200, first.statusCode(), first.body());
        HttpClient renewing = Est.client(keys, Est.certificate(first), ca);
        String challenge = Est.challenge(renewing, b.est("/csrattrs"));
        String csrA = Est.csr(aeId, challenge);
        String csrB = Est.csr(aeId, challenge);

        CompletableFuture<HttpResponse<String>> onA = CompletableFuture.supplyAsync(() -> call(renewing, a, "/simplereenroll", csrA));
        CompletableFuture<HttpResponse<String>> onB = CompletableFuture.supplyAsync(() -> call(renewing, b, "/simplereenroll", csrB));
        List<HttpResponse<String>> responses = List.of(onA.join(), onB.join());

        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 200).count(), responses.toString());
        assertRefusedBy("challenge.unused", responses.stream().filter(r -> r.statusCode() != 200).findFirst().orElseThrow());
        assertEquals(2, certificatesOf(id), "the first certificate and one renewal in the shared ledger");
    }

    /**
     * Two first enrolments, each with a challenge of its own, racing on the two nodes: one
     * instruction buys one certificate, and the other is refused because the command is spent
     * ({@code enrolee.no-pending-command}), whether its node decided before the winner claimed the
     * command (its own challenge is claimed, the command is not: both are rolled back) or after.
     */
    @Test
    void oneInstructionRacingOnBothNodesWithTwoChallengesBuysOneCertificate() throws Exception {
        String aeId = "//m2m.example.com/CSE1/race-command";
        DeviceMaker.Device device = registered(aeId);
        String id = "cluster-" + devices;
        HttpClient client = Est.client(device, ca);
        String csrA = Est.csr(aeId, Est.challenge(client, a.est("/csrattrs")));
        String csrB = Est.csr(aeId, Est.challenge(client, b.est("/csrattrs")));

        CompletableFuture<HttpResponse<String>> onA = CompletableFuture.supplyAsync(() -> call(client, a, "/simpleenroll", csrA));
        CompletableFuture<HttpResponse<String>> onB = CompletableFuture.supplyAsync(() -> call(client, b, "/simpleenroll", csrB));
        List<HttpResponse<String>> responses = List.of(onA.join(), onB.join());

        assertEquals(1, responses.stream().filter(r -> r.statusCode() == 200).count(), responses.toString());
        assertRefusedBy("enrolee.no-pending-command", responses.stream().filter(r -> r.statusCode() != 200).findFirst().orElseThrow());
        assertEquals(1, certificatesOf(id), "one certificate in the shared ledger");
    }

    /** 403, and the reason names {@code rule} of the default profile. */
    private static void assertRefusedBy(String rule, HttpResponse<String> r) {
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("refused by rule " + rule + " of profile default: "), "refused by " + rule + ": " + r.body());
    }

    private static int certificatesOf(String enroleeId) throws Exception {
        return new JsonArray(new AdminClient(b.config).get("/admin/certificates?enrolee=" + enroleeId).body()).size();
    }

    private static HttpResponse<String> call(HttpClient client, GatewayProcess node, String path, String csr) {
        try {
            return Est.simpleenroll(client, node.est(path), csr);
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
