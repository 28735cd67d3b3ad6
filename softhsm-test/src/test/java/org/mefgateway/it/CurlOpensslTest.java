package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.policy.Oids;

/**
 * The gateway driven by nothing but {@code curl} and {@code openssl} processes, as an operator
 * or a shell-scripted device would: no Java on the client side except to start the processes and
 * write the device's bootstrap credential to files.
 */
class CurlOpensslTest {
    static final String EKU_40 = Oids.SUID_EKU_ARC + ".40";
    static final String EKU_45 = Oids.SUID_EKU_ARC + ".45";

    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Shell CA");
        mef = TestGateway.start(maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void curlGetsCacertsAndOpensslDecodesItToTheGatewayCaCertificate(@TempDir Path dir) throws Exception {
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);

        run(dir, "curl", "-sS", "--fail", "--cacert", "ca.pem", "-o", "cacerts.b64", mef.est("/cacerts").toString());
        // -A: the gateway sends base64 on one line (RFC 8951 allows it, and clients that cannot
        // decode CRLF-broken lines need it); openssl's decoder reads one line only with -A.
        run(dir, "openssl", "base64", "-d", "-A", "-in", "cacerts.b64", "-out", "cacerts.der");
        String printed = run(dir, "openssl", "pkcs7", "-inform", "DER", "-in", "cacerts.der", "-print_certs");

        // The subject as openssl prints it (RDN order is whatever the CA certificate encodes).
        String subject = printed.lines().filter(l -> l.startsWith("subject=")).findFirst().orElse("");
        assertTrue(subject.contains("CN = Test MEF Root CA") && subject.contains("O = MEF Gateway Tests"), printed);
        assertEquals(1, count(printed, "-----BEGIN CERTIFICATE-----"), printed);
        // The PEM openssl extracted is the CA certificate itself.
        assertEquals(List.of(mef.caCertificate), Pem.parse(printed, "openssl pkcs7 -print_certs"));
    }

    @Test
    void curlAndOpensslAloneEnrolAnAeAndGetACertificateThatVerifiesWithTheCaAndNamesTheAeId(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/CSE3219/C-SHELL-1";
        DeviceMaker.Device device = bootstrap(dir, "shell-0001", "shell-1", aeId);

        String challenge = challengeFromCsrattrs(dir, aeId);
        csr(dir, "k.pem", "csr.b64", aeId, challenge);

        String status = run(dir, "curl", "-sS", "--cacert", "ca.pem", "--cert", "device.pem", "--key", "device.key",
                "-H", "Content-Type: application/pkcs10", "--data-binary", "@csr.b64",
                "-o", "cert.b64", "-w", "%{http_code} %{content_type}", mef.est("/simpleenroll").toString());
        assertEquals("200 application/pkcs7-mime; smime-type=certs-only", status.strip(), Files.readString(dir.resolve("cert.b64")));

        run(dir, "openssl", "base64", "-d", "-A", "-in", "cert.b64", "-out", "cert.p7");
        Files.writeString(dir.resolve("cert.pem"),
                run(dir, "openssl", "pkcs7", "-inform", "DER", "-in", "cert.p7", "-print_certs"));
        String verified = run(dir, "openssl", "verify", "-CAfile", "ca.pem", "cert.pem");
        assertEquals("cert.pem: OK", verified.strip());
        String san = run(dir, "openssl", "x509", "-in", "cert.pem", "-noout", "-ext", "subjectAltName,extendedKeyUsage");
        assertTrue(san.contains("URI:" + aeId), san);
        assertTrue(san.contains(EKU_40) && san.contains(EKU_45), san);
        // The certificate is for the key openssl generated, not for the bootstrap key.
        assertEquals(run(dir, "openssl", "pkey", "-in", "k.pem", "-pubout"),
                run(dir, "openssl", "x509", "-in", "cert.pem", "-noout", "-pubkey"));
        assertTrue(mef.issued().stream().anyMatch(c -> c.enroleeId().equals("shell-1")), "recorded in the ledger");
        assertNotEquals(device.certificate().getPublicKey(), Pem.read(dir.resolve("cert.pem")).get(0).getPublicKey());
    }

    @Test
    void curlSeesA403TextPlainRefusalWhenASecondCsrReusesTheChallengeOfAnIssuedCertificate(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/CSE3219/C-SHELL-2";
        bootstrap(dir, "shell-0002", "shell-2", aeId);
        String challenge = challengeFromCsrattrs(dir, aeId);

        csr(dir, "k1.pem", "csr1.b64", aeId, challenge);
        assertEquals("200", post(dir, "csr1.b64", "body1", "%{http_code}"), Files.readString(dir.resolve("body1")));
        int issued = mef.issued().size();

        csr(dir, "k2.pem", "csr2.b64", aeId, challenge);
        String status = post(dir, "csr2.b64", "body2", "%{http_code} %{content_type}");

        String body = Files.readString(dir.resolve("body2"));
        assertEquals("403 text/plain; charset=utf-8", status, body);
        // The Enrolee's CERT_PROV command was completed by the first certificate: that refuses first.
        assertTrue(body.contains("no CERT_PROV command is pending"), body);
        assertEquals(issued, mef.issued().size(), "the refused request issued nothing");
    }

    /** Registers a fresh device and writes ca.pem, device.pem and device.key (PKCS#8 PEM). */
    private DeviceMaker.Device bootstrap(Path dir, String serial, String id, String aeId) throws Exception {
        DeviceMaker.Device device = maker.device(serial);
        mef.register(device, id, "AE-ID", aeId, 40, 45);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        Pem.write(dir.resolve("device.pem"), device.certificate());
        Files.writeString(dir.resolve("device.key"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(device.keys().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return device;
    }

    /**
     * GET /csrattrs with the bootstrap certificate; the challengePassword is read from
     * {@code openssl asn1parse}'s text: the PRINTABLESTRING that follows the challengePassword OID.
     */
    private String challengeFromCsrattrs(Path dir, String aeId) throws Exception {
        String status = run(dir, "curl", "-sS", "--cacert", "ca.pem", "--cert", "device.pem", "--key", "device.key",
                "-o", "csrattrs.b64", "-w", "%{http_code} %{content_type}", mef.est("/csrattrs").toString());
        assertEquals("200 application/csrattrs", status.strip(), Files.readString(dir.resolve("csrattrs.b64")));
        run(dir, "openssl", "base64", "-d", "-A", "-in", "csrattrs.b64", "-out", "csrattrs.der");
        String asn1 = run(dir, "openssl", "asn1parse", "-inform", "DER", "-in", "csrattrs.der");
        Matcher m = Pattern.compile(":challengePassword\\s*\\n.*?\\n.*?PRINTABLESTRING\\s*:(\\S+)").matcher(asn1);
        if (!m.find()) {
            fail("no challengePassword PRINTABLESTRING in csrattrs:\n" + asn1);
        }
        // The extensionRequest names the identity the MEF expects: asn1parse shows the SAN extension's
        // value as an OCTET STRING hex dump, i.e. GeneralNames holding [6] IA5String <AE-ID>.
        Matcher san = Pattern.compile(":X509v3 Subject Alternative Name\\s*\\n.*?OCTET STRING\\s*\\[HEX DUMP\\]:(\\p{XDigit}+)")
                .matcher(asn1);
        if (!san.find()) {
            fail("no subjectAltName in the csrattrs extensionRequest:\n" + asn1);
        }
        byte[] id = aeId.getBytes(StandardCharsets.US_ASCII);
        assertEquals(HexFormat.of().withUpperCase().formatHex(new byte[] {0x30, (byte) (id.length + 2), (byte) 0x86, (byte) id.length})
                + HexFormat.of().withUpperCase().formatHex(id), san.group(1), asn1);
        return m.group(1);
    }

    /** A fresh P-256 key and a DER CSR (base64) with subject CN=aeId, the challenge, SAN and EKUs. */
    private void csr(Path dir, String key, String out, String aeId, String challenge) throws Exception {
        Files.writeString(dir.resolve(key), run(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"));
        Files.writeString(dir.resolve("req.cnf"), String.join("\n",
                "[req]",
                "prompt = no",
                "distinguished_name = dn",
                "attributes = req_attributes",
                "req_extensions = ext",
                "[dn]",
                "CN = " + aeId,
                "[req_attributes]",
                "challengePassword = " + challenge,
                "[ext]",
                "subjectAltName = URI:" + aeId,
                "extendedKeyUsage = " + EKU_40 + ", " + EKU_45,
                ""));
        // The subject comes from the [dn] section, not from -subj: OpenSSL 3.0's "req -subj" also
        // skips the config's [req_attributes], which would silently drop the challengePassword.
        run(dir, "openssl", "req", "-new", "-key", key, "-sha256", "-config", "req.cnf", "-outform", "DER", "-out", out + ".der");
        String text = run(dir, "openssl", "req", "-inform", "DER", "-in", out + ".der", "-noout", "-text");
        assertTrue(text.contains("challengePassword") && text.contains(challenge), text);
        run(dir, "openssl", "base64", "-in", out + ".der", "-out", out);
    }

    private String post(Path dir, String csr, String body, String writeOut) throws Exception {
        return run(dir, "curl", "-sS", "--cacert", "ca.pem", "--cert", "device.pem", "--key", "device.key",
                "-H", "Content-Type: application/pkcs10", "--data-binary", "@" + csr,
                "-o", body, "-w", writeOut, mef.est("/simpleenroll").toString()).strip();
    }

    /** Runs a command in dir with a 30 s limit; returns stdout, fails with stderr on a non-zero exit. */
    static String run(Path dir, String... command) throws IOException, InterruptedException {
        Path stdout = Files.createTempFile(dir, "out", ".txt");
        Path stderr = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish in 30 s; stderr:\n" + Files.readString(stderr));
        }
        if (p.exitValue() != 0) {
            fail(String.join(" ", command) + " exited " + p.exitValue() + "; stderr:\n" + Files.readString(stderr)
                    + "\nstdout:\n" + Files.readString(stdout));
        }
        return Files.readString(stdout);
    }

    private static int count(String text, String needle) {
        List<Integer> at = new ArrayList<>();
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            at.add(i);
        }
        return at.size();
    }
}
