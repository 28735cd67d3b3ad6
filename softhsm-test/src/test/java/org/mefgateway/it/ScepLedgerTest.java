package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.policy.Oids;

/**
 * A certificate issued over SCEP is a certificate of the ledger like any other (issue 17, "Done
 * when"): {@code mefgate admin list-certs} (the CLI, in its own process) lists it under its Enrolee
 * and profile, OCSP answers it good, the operator revokes it with {@code mefgate admin revoke}, and
 * then openssl (not our code) finds it in the CA-signed CRL and OCSP answers it revoked.
 */
class ScepLedgerTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-ledger-maker");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", ScepTest.SCEP_PROFILE), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void aScepCertificateIsListedGoodInOcspRevocableThenInTheCrlAndRevokedInOcsp(@TempDir Path dir) throws Exception {
        X509Certificate cert = enrolOverScep("scep-ledger-1");
        String serial = cert.getSerialNumber().toString(16);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        Pem.write(dir.resolve("scep.pem"), cert);

        // The operator's CLI, in its own process, as the issue names it: admin list-certs.
        String listed = mefgate(dir, "admin", "list-certs", "--enrolee", "scep-ledger-1");
        JsonArray rows = new JsonArray(listed);
        assertEquals(1, rows.size(), listed);
        assertEquals(serial, rows.getJsonObject(0).getString("serial"));
        assertEquals("scep", rows.getJsonObject(0).getString("profile"));
        assertEquals("ISSUED", rows.getJsonObject(0).getString("status"));
        assertEquals(List.of(cert), Pem.parse(mefgate(dir, "admin", "list-certs", "--enrolee", "scep-ledger-1", "--format", "pem"), "export"));

        String good = ocsp(dir);
        assertTrue(good.contains("Response verify OK") && good.contains("scep.pem: good"), good);

        assertEquals("REVOKED", new JsonObject(mefgate(dir, "admin", "revoke", serial, "--reason", "keyCompromise")).getString("status"));

        String after = ocsp(dir);
        assertTrue(after.contains("Response verify OK") && after.contains("scep.pem: revoked") && after.contains("Reason: keyCompromise"), after);
        HttpResponse<byte[]> crl = HTTP.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/crl/ca.crl")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, crl.statusCode());
        Files.write(dir.resolve("ca.crl"), crl.body());
        openssl(dir, 0, "crl", "-inform", "DER", "-in", "ca.crl", "-out", "crl.pem");
        String text = openssl(dir, 0, "crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout", "-text");
        assertTrue(text.contains("verify OK"), text);
        assertTrue(text.lines().anyMatch(l -> l.strip().equalsIgnoreCase("Serial Number: " + opensslHex(serial))), text);
        String rejected = openssl(dir, 2, "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "scep.pem");
        assertTrue(rejected.contains("certificate revoked"), rejected);
        assertEquals("REVOKED", new JsonArray(mefgate(dir, "admin", "list-certs", "--enrolee", "scep-ledger-1")).getJsonObject(0)
                .getString("status"));
    }

    /** {@code mefgate ARGS} in its own process (the gateway's CLI jar) on the gateway's configuration; exit 0, its stdout. */
    private static String mefgate(Path dir, String... args) throws Exception {
        Path jar = Path.of(System.getProperty("gateway.cli.jar", "../gateway/target/gateway-0.1.0-SNAPSHOT-cli.jar"));
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                jar.toString(), "--config", mef.configFile.toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "mefgate", ".out");
        Path err = Files.createTempFile(dir, "mefgate", ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), command + " finished in 60 s");
        assertEquals(0, p.exitValue(), command + ": " + Files.readString(err));
        return Files.readString(out);
    }

    /** openssl ocsp against the gateway's responder for scep.pem, verified up to ca.pem. */
    private static String ocsp(Path dir) throws Exception {
        return openssl(dir, 0, "ocsp", "-issuer", "ca.pem", "-CAfile", "ca.pem", "-cert", "scep.pem",
                "-url", mef.publicationBase().resolve("/ocsp").toString());
    }

    /** Runs openssl with {@code args}, which must exit {@code exit}; its stdout and stderr (where it says "verify OK"). */
    private static String openssl(Path dir, int exit, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "openssl", ".out");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), command + " finished in 30 s");
        assertEquals(exit, p.exitValue(), command + ": " + Files.readString(out));
        return Files.readString(out);
    }

    /** openssl prints serials with an even number of hex digits. */
    private static String opensslHex(String hex) {
        return hex.length() % 2 == 0 ? hex : "0" + hex;
    }

    /** Registers {@code id} for profile scep, instructs SCEP and enrols a new RSA key over SCEP with the instruction's challenge. */
    private static X509Certificate enrolOverScep(String id) throws Exception {
        String aeId = "//m2m.example.com/" + id;
        mef.register(maker.device(id), id, "AE-ID", aeId, List.of("scep"), 40);
        HttpResponse<String> instructed = admin.postJson("/admin/enrolees/" + id + "/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
        assertEquals(200, instructed.statusCode(), instructed.body());
        KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        byte[] csr = new TestCsr().keys(keys).subject("CN=" + aeId).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40")
                .challenge(new JsonObject(instructed.body()).getString("challenge")).der();
        X509Certificate ra = raCertificate();
        HttpResponse<byte[]> answer = HTTP.send(HttpRequest.newBuilder(scep("?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(BcScep.request("19", csr, ra, BcScep.selfSigned(keys, id), keys.getPrivate(),
                        UUID.randomUUID().toString(), BcScep.nonce()))).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, answer.statusCode());
        BcScep.CertRep rep = BcScep.CertRep.read(answer.body(), ra);
        assertEquals("0", rep.pkiStatus(), "SUCCESS, failInfo " + rep.failInfo());
        return rep.certificate(keys.getPrivate());
    }

    /** The RA certificate of GetCACert (RFC 8894 4.2.1.2): the one that is no CA. */
    private static X509Certificate raCertificate() throws Exception {
        return BcScep.raCertificate(scep(""));
    }

    private static URI scep(String query) {
        return mef.publicationBase().resolve("/scep" + query);
    }
}
