package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.it.CurlOpensslTest.run;
import static org.mefgateway.it.StrongSwanEstTest.pki;
import static org.mefgateway.it.StrongSwanEstTest.uriSan;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * strongSwan's {@code pki --scep} (Debian's strongswan-pki 5.9.8) against a gateway whose SCEP
 * profile holds every request for the operator's approval: PENDING, then CertPoll (RFC 8894 3.3.3)
 * until the operator decides. A class of its own: the SCEP profile (label scep) is one per gateway,
 * and {@link StrongSwanScepTest}'s enrolments must not wait.
 */
class StrongSwanScepPendingTest {
    /** RSA keys for pki, and every request waits for the operator's approval (RFC 8894 3.3.2.1: PENDING). */
    static final String HELD_PROFILE = TestGateway.DEFAULT_PROFILE
            + "keys: {ec: [], rsaMinBits: 2048}\nsignatureAlgorithms: [sha256WithRSAEncryption]\napproval: {required: true}\n";

    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;

    @BeforeAll
    static void start() throws Exception {
        StrongSwanEstTest.requirePki();
        maker = DeviceMaker.create("Maker strongSwan SCEP pending CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", HELD_PROFILE), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    /**
     * pki's PKCSReq is held and answered PENDING, nothing is issued; pki polls with CertPoll every
     * second until the operator approves through the admin API, then writes the certificate the
     * ledger holds.
     */
    @Test
    void pkiScepPollsAHeldRequestUntilTheOperatorApprovesIt(@TempDir Path dir) throws Exception {
        String scep = mef.publicationBase() + "/scep";
        String id = "scep-pki-held";
        String aeId = "//m2m.example.com/" + id;
        mef.register(maker.device(id), id, "AE-ID", aeId, List.of("scep"), 40);
        HttpResponse<String> instructed = admin.postJson("/admin/enrolees/" + id + "/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
        assertEquals(200, instructed.statusCode(), instructed.body());
        pki(dir, "--scepca", "--url", scep, "--caout", "ca.pem", "--raout", "ra.pem", "--outform", "pem").assertExit(0);
        StrongSwanEstTest.Result key = pki(dir, "--gen", "--type", "rsa", "--size", "2048", "--outform", "pem");
        key.assertExit(0);
        Files.writeString(dir.resolve("new.key"), key.stdout());
        List<String> command = List.of("pki", "--scep", "--url", scep, "--in", "new.key", "--dn", "CN=" + aeId, "--san", uriSan(aeId),
                "--password", new JsonObject(instructed.body()).getString("challenge"), "--cacert-enc", "ra.pem", "--cacert-sig", "ra.pem",
                "--cacert", "ca.pem", "--interval", "1", "--maxpolltime", "120", "--outform", "pem");
        Path err = dir.resolve("pki.err");
        Process polling = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(dir.resolve("held.pem").toFile()).redirectError(err.toFile()).start();
        try {
            String request = heldRequestOf(id, polling, err);
            assertTrue(mef.issued().stream().noneMatch(c -> c.enroleeId().equals(id)), "nothing issued before the approval");

            HttpResponse<String> approved = admin.postJson("/admin/requests/" + request + "/approve", "{}");
            assertEquals(200, approved.statusCode(), approved.body());

            assertTrue(polling.waitFor(60, TimeUnit.SECONDS), "pki received the certificate within 60 s of the approval");
            assertEquals(0, polling.exitValue(), String.join(" ", command) + "\n" + Files.readString(err));
        } finally {
            polling.destroyForcibly();
        }
        assertTrue(Files.readString(err).contains("SCEP request pending, polling every 1 seconds"), "pki was answered PENDING first: " + Files.readString(err));
        assertEquals("held.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "held.pem").strip());
        X509Certificate cert = Pem.read(dir.resolve("held.pem")).get(0);
        assertEquals(run(dir, "openssl", "pkey", "-in", "new.key", "-pubout"),
                run(dir, "openssl", "x509", "-in", "held.pem", "-noout", "-pubkey"), "the certificate is for pki's key");
        String serial = cert.getSerialNumber().toString(16);
        IssuedCertificate row = mef.issued().stream().filter(c -> c.serialHex().equals(serial)).findFirst()
                .orElseThrow(() -> new AssertionError("serial " + serial + " is not in the ledger"));
        assertArrayEquals(row.der(), cert.getEncoded(), "pki wrote the certificate the ledger holds");
        assertEquals(id, row.enroleeId());
        assertEquals("scep", row.profile());
    }

    /** The id of {@code enroleeId}'s held request once pki's PKCSReq has put it there (asked every 200 ms while pki runs, up to 60 s). */
    private static String heldRequestOf(String enroleeId, Process pki, Path err) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && pki.isAlive()) {
            JsonArray held = new JsonArray(admin.get("/admin/requests?status=PENDING").body());
            for (int i = 0; i < held.size(); i++) {
                if (held.getJsonObject(i).getString("enroleeId").equals(enroleeId)) {
                    return held.getJsonObject(i).getString("id");
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no held request of " + enroleeId + " while pki polled; pki: " + Files.readString(err));
    }
}
