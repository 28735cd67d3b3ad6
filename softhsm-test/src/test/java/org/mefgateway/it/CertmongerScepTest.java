package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
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
 * certmonger (Debian's certmonger 0.79) as a SCEP client of the server on the publication
 * listener: its helper {@code scep-submit} for GetCACaps (RFC 8894 3.5.2) and GetCACert (3.5.1),
 * as certmonger asks them before it enrols, and the daemon itself enrolling with a PKCSReq it
 * builds, carrying the challenge of the operator's SCEP instruction.
 */
class CertmongerScepTest {
    static final Path SCEP_SUBMIT = Path.of("/usr/lib/certmonger/scep-submit");

    static final Path CERTMONGER = Path.of("/usr/sbin/certmonger");
    /** SCEP's profile: certmonger's RSA-2048 key with sha256WithRSAEncryption, like the default otherwise. */
    static final String SCEP_PROFILE = TestGateway.DEFAULT_PROFILE + "keys: {ec: [], rsaMinBits: 2048}\nsignatureAlgorithms: [sha256WithRSAEncryption]\n";

    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;

    @BeforeAll
    static void start() throws Exception {
        if (!Files.isExecutable(SCEP_SUBMIT)) {
            fail("certmonger's " + SCEP_SUBMIT + " is missing: install the Debian package certmonger (apt-get install certmonger)");
        }
        maker = DeviceMaker.create("Maker certmonger CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", SCEP_PROFILE), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    /** RFC 8894 3.5.2: what a SCEP client may rely on; no DES, MD5 or SHA-1 unless the legacy switch is on (issue 17). */
    @Test
    void getCaCapsAdvertisesPostSha2AesAndScepStandardWithoutLegacyAlgorithms(@TempDir Path dir) throws Exception {
        List<String> caps = scepSubmit(dir, "-c").lines().map(String::strip).filter(l -> !l.isEmpty()).toList();

        assertTrue(caps.containsAll(List.of("POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal")), caps.toString());
        assertTrue(caps.stream().noneMatch(c -> c.equals("DES3") || c.equals("SHA-1") || c.equals("MD5")), caps.toString());
    }

    /** scep-submit -C prints the RA certificate, then the CA certificate (certmonger-scep-submit(8)). */
    @Test
    void getCaCertGivesAnRaCertificateAndTheGatewayCaCertificate(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("certs.pem"), scepSubmit(dir, "-C"));

        List<X509Certificate> certs = Pem.read(dir.resolve("certs.pem"));

        assertEquals(2, certs.size(), certs.toString());
        assertArrayEquals(mef.caCertificate.getEncoded(), certs.get(1).getEncoded(), "the CA certificate, byte for byte");
        certs.get(0).verify(mef.caCertificate.getPublicKey());
        assertEquals(mef.caCertificate.getSubjectX500Principal(), certs.get(0).getIssuerX500Principal());
    }

    /**
     * certmonger's daemon builds the PKCSReq itself (RFC 8894 3.3.1: a new RSA key, a self-signed
     * certificate for it, the CSR with the challengePassword, enveloped to the RA certificate it
     * fetched with GetCACert) and hands it to scep-submit. The daemon runs here without a D-Bus
     * bus, on a private socket ({@code -L -P}), with its own state directories (nothing of the host's /var/lib/certmonger), and runs getcert
     * ({@code -c}) against it: add-scep-ca, then request with the challenge of the operator's SCEP
     * instruction for a CSE-ID (certmonger puts DNS names in the CSR, not URIs).
     */
    @Test
    void certmongerEnrolsOverScepWithTheChallengeOfAScepInstruction(@TempDir Path dir) throws Exception {
        String id = "certmonger-cse";
        String cseId = "cse-certmonger.m2m.example.com";
        mef.register(maker.device(id), id, "CSE-ID", cseId, List.of("scep"), 41);
        HttpResponse<String> instructed = admin.postJson("/admin/enrolees/" + id + "/instruct", "{\"certProvProtocolID\":\"SCEP\"}");
        assertEquals(200, instructed.statusCode(), instructed.body());
        JsonObject instruction = new JsonObject(instructed.body());
        for (String state : List.of("requests", "cas", "local", "tmp")) {
            Files.createDirectories(dir.resolve(state));
        }
        Files.writeString(dir.resolve("getcert.sh"), String.join("\n",
                "set -e",
                "getcert add-scep-ca -c MEF -u '" + instruction.getString("URI") + "'",
                "getcert request -c MEF -I mef -k " + dir.resolve("cse.key") + " -f " + dir.resolve("cse.pem")
                        + " -G rsa -g 2048 -N 'CN=" + cseId + "' -D " + cseId + " -L '" + instruction.getString("challenge") + "'"
                        + " -w --wait-timeout=60",
                "getcert list -i mef",
                ""));
        ProcessBuilder daemon = new ProcessBuilder(CERTMONGER.toString(), "-n", "-L", "-P", dir.resolve("certmonger.sock").toString(),
                "-c", "sh " + dir.resolve("getcert.sh")).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true)
                .redirectOutput(dir.resolve("certmonger.out").toFile());
        daemon.environment().put("CERTMONGER_REQUESTS_DIR", dir.resolve("requests").toString());
        daemon.environment().put("CERTMONGER_CAS_DIR", dir.resolve("cas").toString());
        daemon.environment().put("CERTMONGER_LOCAL_CA_DIR", dir.resolve("local").toString());
        daemon.environment().put("CERTMONGER_TMPDIR", dir.resolve("tmp").toString());
        Process p = daemon.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            fail("certmonger did not finish in 120 s:\n" + Files.readString(dir.resolve("certmonger.out")));
        }
        String out = Files.readString(dir.resolve("certmonger.out"));

        assertTrue(out.contains("status: MONITORING"), out);
        X509Certificate cert = Pem.read(dir.resolve("cse.pem")).get(0);
        cert.verify(mef.caCertificate.getPublicKey());
        assertEquals(CurlOpensslTest.run(dir, "openssl", "pkey", "-in", "cse.key", "-pubout"),
                CurlOpensslTest.run(dir, "openssl", "x509", "-in", "cse.pem", "-noout", "-pubkey"), "the certificate is for certmonger's key");
        String serial = cert.getSerialNumber().toString(16);
        IssuedCertificate row = mef.issued().stream().filter(c -> c.serialHex().equals(serial)).findFirst()
                .orElseThrow(() -> new AssertionError("serial " + serial + " is not in the ledger\n" + out));
        assertArrayEquals(row.der(), cert.getEncoded(), "certmonger stored the certificate the ledger holds");
        assertEquals(id, row.enroleeId());
        assertEquals("scep", row.profile());
    }

    /** Runs scep-submit against the gateway's SCEP URL with a 30 s limit; its stdout, which it must exit 0 with. */
    static String scepSubmit(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(SCEP_SUBMIT.toString(), "-u", mef.publicationBase() + "/scep"));
        command.addAll(List.of(args));
        Path out = dir.resolve("scep-submit.out");
        Path err = dir.resolve("scep-submit.err");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            fail(String.join(" ", command) + " did not finish in 30 s; stderr:\n" + Files.readString(err));
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\nstderr:\n" + Files.readString(err) + "\nstdout:\n" + stdout);
        return stdout;
    }
}
