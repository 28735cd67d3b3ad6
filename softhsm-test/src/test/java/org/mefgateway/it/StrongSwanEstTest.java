package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.mefgateway.it.CurlOpensslTest.run;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * strongSwan's {@code pki} as an EST client (Debian's strongswan-pki with its TLS stack, libtls):
 * cacerts with {@code pki --estca}, and re-enrolment with {@code pki --est --cert --key}, with and
 * without a challengePassword and through a 202 that the operator approves while pki polls.
 *
 * <p>What pki can and cannot do decides the shape of these tests. It sends a TLS client
 * certificate only when renewing one ({@code --cert}/{@code --key}: simplereenroll); a first
 * enrolment (simpleenroll) goes without one, and the MEF answers that 401 by design (TS-0003
 * 8.3.6.2.1). pki puts the path of its {@code --url} before {@code /.well-known/est}
 * ({@code https://host/x} asks {@code /x/.well-known/est/cacerts}), so it cannot reach an RFC 7030
 * label ({@code /.well-known/est/<label>/...}): it always talks to the unlabelled path. A renewal
 * is decided by the profile that issued the certificate being renewed, whichever label carries
 * it, so each renewal test first enrols on the profile it is about with our own HTTPS client.
 * {@code pki --req --san} has no syntax for a URI subjectAltName (an AE-ID becomes a dNSName), so
 * the CSRs name it as a DER GeneralName: {@code asn1gn:#86<length><AE-ID in hex>}.
 */
class StrongSwanEstTest {
    static final String PACKAGES = "strongswan-pki libstrongswan-extra-plugins libstrongswan-standard-plugins";

    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        requirePki();
        maker = DeviceMaker.create("Maker strongSwan CA");
        mef = TestGateway.start(Map.of(
                "default.yaml", TestGateway.DEFAULT_PROFILE,
                "nochallenge.yaml", "validity: {days: 7}\nreenrolment: {challenge: none}\n",
                "held.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 1}\nreenrolment: {challenge: none}\n"),
                maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    @Test
    void pkiEstcaWritesTheGatewayCaCertificateOverTls12WithAnAeadSuite(@TempDir Path dir) throws Exception {
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);

        Result r = pki(dir, "--estca", "--url", base(), "--cacert", "ca.pem", "--outform", "pem");

        r.assertExit(0);
        assertArrayEquals(mef.caCertificate.getEncoded(), pemDer(r.stdout()), "the CA certificate, byte for byte");
        // libtls negotiates up to TLS 1.2 unless configured otherwise; the gateway prefers AEAD suites.
        assertTrue(r.stderr().contains("negotiated TLS 1.2 using suite TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), r.stderr());
        assertTrue(r.stderr().contains("Root CA equals trusted TLS Root CA"), r.stderr());
    }

    @Test
    void pkiWithTls13AllowedNegotiatesTls13AndStillGetsTheCaCertificate(@TempDir Path dir) throws Exception {
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        // strongswan.conf's libtls.version_max (default 1.2), through the STRONGSWAN_CONF libstrongswan reads.
        Files.writeString(dir.resolve("strongswan.conf"), "include /etc/strongswan.conf\nlibtls {\n  version_max = 1.3\n}\n");

        Result r = pki(dir, Map.of("STRONGSWAN_CONF", dir.resolve("strongswan.conf").toString()),
                "--estca", "--url", base(), "--cacert", "ca.pem", "--outform", "pem");

        r.assertExit(0);
        assertArrayEquals(mef.caCertificate.getEncoded(), pemDer(r.stdout()));
        // JSSE picks the TLS 1.3 suite by the server's order; BoringSSL by the client's, and strongSwan lists AES-256 first.
        String engine = mef.gateway.meters().get("mef.tls.engine.info").tag("listener", "est").gauge().getId().getTag("engine");
        String suite = engine.equals("jdk") ? "TLS_AES_128_GCM_SHA256" : "TLS_AES_256_GCM_SHA384";
        assertTrue(r.stderr().contains("negotiated TLS 1.3 using suite " + suite), engine + ": " + r.stderr());
    }

    @Test
    void pkiCannotReachAnEstLabelBecauseItPutsTheUrlPathBeforeWellKnownEst(@TempDir Path dir) throws Exception {
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);

        // pki asks GET /nochallenge/.well-known/est/cacerts, not RFC 7030 3.2.2's /.well-known/est/nochallenge/cacerts.
        Result labelled = pki(dir, "--estca", "--url", base() + "/nochallenge", "--cacert", "ca.pem", "--outform", "pem");
        Result wellKnown = pki(dir, "--estca", "--url", base() + "/.well-known/est/nochallenge", "--cacert", "ca.pem",
                "--outform", "pem");

        labelled.assertExit(1);
        assertTrue(labelled.stderr().contains("EST request failed: HTTP 404"), labelled.stderr());
        wellKnown.assertExit(1);
        assertTrue(wellKnown.stderr().contains("EST request failed: HTTP 404"), wellKnown.stderr());
        // The label itself is served where RFC 7030 puts it.
        assertEquals("200", run(dir, "curl", "-sS", "--cacert", "ca.pem", "-o", "/dev/null", "-w", "%{http_code}",
                mef.est("/nochallenge/cacerts").toString()).strip());
    }

    @Test
    void pkiRenewsACertificateWhoseProfileNeedsNoChallengeOnReenrolment(@TempDir Path dir) throws Exception {
        Operational current = enrolled("/nochallenge", dir);
        pkiCsr(dir, current.aeId(), null);

        Result r = pki(dir, "--est", "--url", base(), "--in", "req.der", "--cacert", "ca.pem",
                "--cert", "current.pem", "--key", "current.key", "--outform", "pem");

        r.assertExit(0);
        assertTrue(r.stderr().contains("sending TLS client certificate 'CN=" + current.aeId() + "'"), r.stderr());
        assertRenewed(dir, r, current, "nochallenge");
    }

    @Test
    void pkiRenewsWithAChallengePasswordFromCsrattrsUnderTheDefaultRule(@TempDir Path dir) throws Exception {
        Operational current = enrolled("", dir);
        String challenge = challenge(dir);
        pkiCsr(dir, current.aeId(), challenge);
        // The CSR carries the challenge and its signature verifies over the bytes pki wrote (pki puts
        // the extensionRequest attribute before challengePassword: a SET OF not in DER order).
        assertTrue(run(dir, "openssl", "req", "-inform", "DER", "-in", "req.der", "-noout", "-text").contains(challenge));
        // OpenSSL 3.0's req -verify exits 0 either way: its verdict is on stderr.
        assertEquals("Certificate request self-signature verify OK",
                run(dir, "sh", "-c", "openssl req -inform DER -in req.der -verify -noout 2>&1").strip());

        Result r = pki(dir, "--est", "--url", base(), "--in", "req.der", "--cacert", "ca.pem",
                "--cert", "current.pem", "--key", "current.key", "--outform", "pem");

        r.assertExit(0);
        assertRenewed(dir, r, current, "default");
    }

    @Test
    void pkiPollsAHeldRenewalUntilTheOperatorApprovesAndGetsTheApprovedCertificate(@TempDir Path dir) throws Exception {
        Operational current = enrolled("/held", dir);
        pkiCsr(dir, current.aeId(), null);
        int issued = mef.issued().size();

        Process p = new ProcessBuilder("pki", "--est", "--url", base(), "--in", "req.der", "--cacert", "ca.pem",
                "--cert", "current.pem", "--key", "current.key", "--interval", "1", "--maxpolltime", "60", "--outform", "pem")
                .directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(dir.resolve("new.pem").toFile()).redirectError(dir.resolve("pki.err").toFile()).start();
        JsonObject approved;
        try {
            JsonObject held = awaitHeldRenewal(current.id(), p, dir.resolve("pki.err"));
            // pki has sent the same CSR again (a second "going to sleep" follows a second 202): still one held request.
            awaitRepeatedPoll(p, dir.resolve("pki.err"));
            assertEquals(List.of(held.getString("id")), requestsOf(current.id()).stream()
                    .filter(q -> q.getString("operation").equals("simplereenroll")).map(q -> q.getString("id")).toList());
            assertEquals(issued, mef.issued().size(), "nothing signed before approval");
            HttpResponse<String> approval = admin.postJson("/admin/requests/" + held.getString("id") + "/approve", "{}");
            assertEquals(200, approval.statusCode(), approval.body());
            approved = new JsonObject(approval.body());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "pki did not finish 30 s after the approval:\n" + readErr(dir));
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }

        String err = readErr(dir);
        assertEquals(0, p.exitValue(), err);
        assertTrue(err.contains("EST request pending, polling every 1 seconds up to 60 seconds"), err);
        X509Certificate cert = Pem.read(dir.resolve("new.pem")).get(0);
        assertEquals(approved.getString("serial"), cert.getSerialNumber().toString(16));
        IssuedCertificate row = ledger(cert);
        assertArrayEquals(row.der(), cert.getEncoded(), "pki wrote the certificate the ledger holds for the approved request");
        assertEquals("held", row.profile());
        assertEquals(issued + 1, mef.issued().size());
        List<JsonObject> renewals = requestsOf(current.id()).stream()
                .filter(q -> q.getString("operation").equals("simplereenroll")).toList();
        assertEquals(1, renewals.size(), "pki's polls repeat the held request, they do not open new ones: " + renewals);
        assertEquals("APPROVED", renewals.get(0).getString("status"));
        assertEquals(approved.getString("serial"), renewals.get(0).getString("serial"));
    }

    @Test
    void pkiFirstEnrolmentWithoutAClientCertificateIsRefused401ByDesign(@TempDir Path dir) throws Exception {
        DeviceMaker.Device device = maker.device("swan-first");
        String aeId = "//m2m.example.com/CSE3219/C-SWAN-FIRST";
        mef.register(device, "swan-first", "AE-ID", aeId, 40);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        pkiCsr(dir, aeId, null);
        int issued = mef.issued().size();

        // TS-0003 8.3.6.2.1: Enrolees authenticate with TLS client certificates, HTTP authentication is not used.
        Result anonymous = pki(dir, "--est", "--url", base(), "--in", "req.der", "--cacert", "ca.pem", "--outform", "pem");
        Result basicAuth = pki(dir, "--est", "--url", base(), "--in", "req.der", "--cacert", "ca.pem",
                "--userpass", "swan-first:secret", "--outform", "pem");

        anonymous.assertExit(1);
        assertTrue(anonymous.stderr().contains("server requested a certificate, but client authentication disabled"),
                anonymous.stderr());
        assertTrue(anonymous.stderr().contains("EST request failed: HTTP 401"), anonymous.stderr());
        assertEquals("", anonymous.stdout());
        basicAuth.assertExit(1);
        assertTrue(basicAuth.stderr().contains("EST request failed: HTTP 401"), basicAuth.stderr());
        assertEquals(issued, mef.issued().size(), "nothing issued");
    }

    // ---- fixtures ----

    /** A registered Enrolee with a certificate issued on {@code label}; writes ca.pem, current.pem and current.key. */
    record Operational(String id, String aeId, KeyPair keys, X509Certificate cert) {
    }

    /**
     * Enrols a fresh Enrolee on {@code label} with our HTTPS client (approving it if the profile
     * holds it), the first step strongSwan cannot do.
     */
    static Operational enrolled(String label, Path dir) throws Exception {
        int i = ++n;
        String id = "swan-" + i;
        DeviceMaker.Device device = maker.device(id);
        String aeId = "//m2m.example.com/CSE3219/C-SWAN-" + i;
        mef.register(device, id, "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = DeviceMaker.ecKeys();
        String csr = TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, label)).base64();
        HttpResponse<String> r = TestGateway.post(bootstrap, mef.est(label + "/simpleenroll"), "application/pkcs10", csr);
        if (r.statusCode() == 202) {
            JsonObject held = requestsOf(id).stream().filter(q -> q.getString("status").equals("PENDING")).findFirst()
                    .orElseThrow(() -> new AssertionError("202 without a held request"));
            HttpResponse<String> approved = admin.postJson("/admin/requests/" + held.getString("id") + "/approve", "{}");
            assertEquals(200, approved.statusCode(), approved.body());
            r = TestGateway.post(bootstrap, mef.est(label + "/simpleenroll"), "application/pkcs10", csr);
        }
        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = PolicyProfilesTest.certificate(r);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        Pem.write(dir.resolve("current.pem"), cert);
        Files.writeString(dir.resolve("current.key"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(keys.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return new Operational(id, aeId, keys, cert);
    }

    /**
     * {@code pki --gen} a P-256 key (new.key) and {@code pki --req} a DER CSR (req.der) with
     * subject CN=aeId, the subjectAltName URI:aeId and, if given, the challengePassword.
     */
    static void pkiCsr(Path dir, String aeId, String challenge) throws Exception {
        Result key = pki(dir, "--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem");
        key.assertExit(0);
        Files.writeString(dir.resolve("new.key"), key.stdout());
        List<String> req = new ArrayList<>(List.of("--req", "--in", "new.key", "--type", "ecdsa", "--dn", "CN=" + aeId,
                "--san", uriSan(aeId), "--outform", "der"));
        if (challenge != null) {
            req.addAll(List.of("--password", challenge));
        }
        Result csr = pki(dir, req.toArray(String[]::new));
        csr.assertExit(0);
        Files.move(dir.resolve(csr.stdoutFile()), dir.resolve("req.der"));
        String text = run(dir, "openssl", "req", "-inform", "DER", "-in", "req.der", "-noout", "-text");
        assertTrue(text.contains("URI:" + aeId), text);
    }

    /** pki's syntax for a URI GeneralName: asn1gn: and the hex of its DER ([6] IA5String). */
    static String uriSan(String uri) throws IOException {
        return "asn1gn:#" + HexFormat.of().formatHex(new GeneralName(GeneralName.uniformResourceIdentifier, uri).getEncoded());
    }

    /** The challengePassword from csrattrs, asked with the current certificate as curl's client certificate. */
    static String challenge(Path dir) throws Exception {
        String status = run(dir, "curl", "-sS", "--cacert", "ca.pem", "--cert", "current.pem", "--key", "current.key",
                "-o", "attrs.b64", "-w", "%{http_code} %{content_type}", mef.est("/csrattrs").toString()).strip();
        assertEquals("200 application/csrattrs", status, Files.readString(dir.resolve("attrs.b64")));
        run(dir, "openssl", "base64", "-d", "-A", "-in", "attrs.b64", "-out", "attrs.der");
        String asn1 = run(dir, "openssl", "asn1parse", "-inform", "DER", "-in", "attrs.der");
        Matcher m = Pattern.compile(":challengePassword\\s*\\n.*?\\n.*?PRINTABLESTRING\\s*:(\\S+)").matcher(asn1);
        assertTrue(m.find(), asn1);
        return m.group(1);
    }

    /** pki's certificate: verifies with openssl, for new.key, the current names, a new serial, in the ledger. */
    static void assertRenewed(Path dir, Result r, Operational current, String profile) throws Exception {
        Files.writeString(dir.resolve("new.pem"), r.stdout());
        assertEquals("new.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "new.pem").strip());
        assertEquals(run(dir, "openssl", "pkey", "-in", "new.key", "-pubout"),
                run(dir, "openssl", "x509", "-in", "new.pem", "-noout", "-pubkey"), "the certificate is for pki's new key");
        X509Certificate renewed = Pem.read(dir.resolve("new.pem")).get(0);
        assertEquals(current.cert().getSubjectX500Principal(), renewed.getSubjectX500Principal());
        assertEquals(PolicyProfilesTest.sans(current.cert()), PolicyProfilesTest.sans(renewed));
        assertEquals(List.of("6: " + current.aeId()), PolicyProfilesTest.sans(renewed));
        assertNotEquals(current.cert().getSerialNumber(), renewed.getSerialNumber());
        assertNotEquals(current.keys().getPublic(), renewed.getPublicKey());
        IssuedCertificate row = ledger(renewed);
        assertArrayEquals(row.der(), renewed.getEncoded());
        assertEquals(current.id(), row.enroleeId());
        assertEquals(profile, row.profile(), "decided by the profile that issued the renewed certificate");
    }

    static IssuedCertificate ledger(X509Certificate cert) {
        String serial = cert.getSerialNumber().toString(16);
        return mef.issued().stream().filter(c -> c.serialHex().equals(serial)).findFirst()
                .orElseThrow(() -> new AssertionError("serial " + serial + " is not in the ledger"));
    }

    static List<JsonObject> requestsOf(String enroleeId) throws Exception {
        HttpResponse<String> r = admin.get("/admin/requests");
        assertEquals(200, r.statusCode(), r.body());
        JsonArray all = new JsonArray(r.body());
        List<JsonObject> mine = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (all.getJsonObject(i).getString("enroleeId").equals(enroleeId)) {
                mine.add(all.getJsonObject(i));
            }
        }
        return mine;
    }

    /** Polls the admin API until the Enrolee's simplereenroll is held (PENDING), failing if pki exits first. */
    static JsonObject awaitHeldRenewal(String enroleeId, Process pki, Path stderr) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = admin.get("/admin/requests?status=PENDING");
            assertEquals(200, r.statusCode(), r.body());
            JsonArray pending = new JsonArray(r.body());
            for (int i = 0; i < pending.size(); i++) {
                JsonObject q = pending.getJsonObject(i);
                if (q.getString("enroleeId").equals(enroleeId) && q.getString("operation").equals("simplereenroll")) {
                    return q;
                }
            }
            if (!pki.isAlive()) {
                fail("pki exited " + pki.exitValue() + " before its request was held:\n" + Files.readString(stderr));
            }
            Thread.sleep(50);
        }
        return fail("no held simplereenroll of " + enroleeId + " within 20 s; pki:\n" + Files.readString(stderr));
    }

    /** Waits until pki's stderr shows a second poll answered 202 ("going to sleep" twice), failing if pki exits first. */
    static void awaitRepeatedPoll(Process pki, Path stderr) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            String err = Files.readString(stderr);
            if (err.split("going to sleep for 1 seconds", -1).length > 2) {
                return;
            }
            if (!pki.isAlive()) {
                fail("pki exited " + pki.exitValue() + " while its request was held:\n" + err);
            }
            Thread.sleep(50);
        }
        fail("pki did not poll twice within 20 s:\n" + Files.readString(stderr));
    }

    static String readErr(Path dir) throws IOException {
        return Files.readString(dir.resolve("pki.err"));
    }

    static String base() {
        return mef.mefBase().toString();
    }

    /** The DER of the single PEM certificate in {@code pem}. */
    static byte[] pemDer(String pem) {
        Matcher m = Pattern.compile("-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----").matcher(pem);
        assertTrue(m.find(), "no PEM certificate in:\n" + pem);
        byte[] der = Base64.getMimeDecoder().decode(m.group(1));
        assertTrue(!m.find(), "more than one certificate in:\n" + pem);
        return der;
    }

    // ---- running pki ----

    /** Exit status, stdout (and the file it was written to, relative to the directory) and stderr of one pki run. */
    record Result(List<String> command, int exit, String stdoutFile, String stdout, String stderr) {
        void assertExit(int expected) {
            assertEquals(expected, exit, String.join(" ", command) + "\nstderr:\n" + stderr + "\nstdout:\n" + stdout);
        }
    }

    static Result pki(Path dir, String... args) throws Exception {
        return pki(dir, Map.of(), args);
    }

    /** Runs pki in {@code dir} with a 30 s limit; its stdout goes to a file (a DER CSR is binary). */
    static Result pki(Path dir, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("pki"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "pki", ".out");
        Path err = Files.createTempFile(dir, "pki", ".err");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            fail(String.join(" ", command) + " did not finish in 30 s; stderr:\n" + Files.readString(err));
        }
        return new Result(command, p.exitValue(), out.getFileName().toString(),
                new String(Files.readAllBytes(out), StandardCharsets.ISO_8859_1), Files.readString(err));
    }

    /**
     * pki on the PATH, able to make the EC P-256 keys the tests use (that takes the openssl plugin,
     * in libstrongswan-standard-plugins): otherwise every test fails naming the Debian packages.
     */
    static void requirePki() throws Exception {
        boolean onPath = false;
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            onPath |= !d.isEmpty() && Files.isExecutable(Path.of(d, "pki"));
        }
        if (!onPath) {
            fail("strongSwan's pki is not on the PATH: install the Debian packages " + PACKAGES + " (apt-get install " + PACKAGES + ")");
        }
        Path probe = Files.createTempDirectory("pki-probe");
        try {
            Result gen = pki(probe, "--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem");
            Result est = pki(probe, "--est", "--help");
            if (gen.exit() != 0 || !gen.stdout().contains("PRIVATE KEY")) {
                fail("pki cannot generate an ECDSA P-256 key (the openssl plugin of libstrongswan-standard-plugins is missing): "
                        + "install the Debian packages " + PACKAGES + "\nstderr:\n" + gen.stderr());
            }
            if (!est.stdout().contains("--maxpolltime")) {
                fail("this pki has no --est command (strongSwan 5.9.8 or later): install the Debian packages " + PACKAGES
                        + "\nstdout:\n" + est.stdout());
            }
        } finally {
            try (var files = Files.list(probe)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(probe);
        }
    }
}
