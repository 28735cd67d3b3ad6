package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.it.CurlOpensslTest.run;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;

/**
 * Every RFC 7030 operation the gateway serves (all but fullcmc), driven by {@code curl} with keys
 * and CSRs made by {@code openssl}: the rows of the conformance table in the README. Request
 * bodies are sent the way sloppy clients send them (line breaks, tabs and spaces in the base64,
 * a Content-Transfer-Encoding header) to prove RFC 8951's tolerance.
 */
class CurlConformanceTest {
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Curl Conformance CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE,
                "held.yaml", "approval: {required: true, retryAfterSeconds: 30}\n"), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** Writes ca.pem, device.pem and device.key for a freshly registered AE. */
    private static String bootstrap(Path dir, String id) throws Exception {
        DeviceMaker.Device device = maker.device(id);
        String aeId = "//m2m.example.com/CSE3219/" + id;
        mef.register(device, id, "AE-ID", aeId, 40);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
        Pem.write(dir.resolve("device.pem"), device.certificate());
        Files.writeString(dir.resolve("device.key"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(device.keys().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        return aeId;
    }

    /** curl with the given client credential; returns "status content-type". */
    private static String curl(Path dir, String cert, String key, String method, String path, String bodyFile, String out)
            throws Exception {
        var cmd = new java.util.ArrayList<>(java.util.List.of("curl", "-sS", "--cacert", "ca.pem", "-X", method,
                "-o", out, "-w", "%{http_code} %{content_type}", "-D", out + ".headers"));
        if (cert != null) {
            cmd.addAll(java.util.List.of("--cert", cert, "--key", key));
        }
        if (bodyFile != null) {
            cmd.addAll(java.util.List.of("-H", "Content-Type: application/pkcs10", "-H", "Content-Transfer-Encoding: base64",
                    "--data-binary", "@" + bodyFile));
        }
        cmd.add(mef.est(path).toString());
        return run(dir, cmd.toArray(String[]::new)).strip();
    }

    /** The challengePassword from csrattrs, read with openssl asn1parse. */
    private static String challenge(Path dir, String cert, String key, String label) throws Exception {
        assertEquals("200 application/csrattrs", curl(dir, cert, key, "GET", label + "/csrattrs", null, "attrs.b64"));
        run(dir, "openssl", "base64", "-d", "-in", "attrs.b64", "-out", "attrs.der");
        String asn1 = run(dir, "openssl", "asn1parse", "-inform", "DER", "-in", "attrs.der");
        var m = java.util.regex.Pattern.compile(":challengePassword\\s*\\n.*?\\n.*?PRINTABLESTRING\\s*:(\\S+)").matcher(asn1);
        assertTrue(m.find(), asn1);
        return m.group(1);
    }

    /** openssl key + CSR; the body is base64 with CRLF every 40 characters, a tab and trailing spaces. */
    private static void csr(Path dir, String key, String aeId, String challenge, String out) throws Exception {
        run(dir, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
        Files.writeString(dir.resolve("req.cnf"), String.join("\n", "[req]", "prompt = no", "distinguished_name = dn",
                "attributes = attrs", "req_extensions = ext", "[dn]", "CN = " + aeId, "[attrs]",
                "challengePassword = " + challenge, "[ext]", "subjectAltName = URI:" + aeId, ""));
        run(dir, "openssl", "req", "-new", "-key", key, "-config", "req.cnf", "-outform", "DER", "-out", out + ".der");
        String b64 = Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve(out + ".der")));
        StringBuilder sloppy = new StringBuilder("\t");
        for (int i = 0; i < b64.length(); i += 40) {
            sloppy.append(b64, i, Math.min(b64.length(), i + 40)).append("\r\n");
        }
        Files.writeString(dir.resolve(out), sloppy.append("  \n").toString());
    }

    private static void certsOnlyToPem(Path dir, String b64, String pem) throws Exception {
        run(dir, "openssl", "base64", "-d", "-in", b64, "-out", b64 + ".p7");
        Files.writeString(dir.resolve(pem), run(dir, "openssl", "pkcs7", "-inform", "DER", "-in", b64 + ".p7", "-print_certs"));
    }

    @Test
    void simpleenrollThenSimplereenrollWithTheIssuedCertificateBothVerifiedByOpenssl(@TempDir Path dir) throws Exception {
        String aeId = bootstrap(dir, "curl-conf-1");
        csr(dir, "k1.pem", aeId, challenge(dir, "device.pem", "device.key", ""), "csr1.b64");
        assertEquals("200 application/pkcs7-mime; smime-type=certs-only",
                curl(dir, "device.pem", "device.key", "POST", "/simpleenroll", "csr1.b64", "cert1.b64"));
        String headers = Files.readString(dir.resolve("cert1.b64.headers"));
        assertTrue(headers.toLowerCase(java.util.Locale.ROOT).contains("content-transfer-encoding: base64"), headers);
        assertTrue(Files.readString(dir.resolve("cert1.b64")).contains("\r\n"), "line-wrapped base64");
        certsOnlyToPem(dir, "cert1.b64", "cert1.pem");
        assertEquals("cert1.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "cert1.pem").strip());

        // Renewal: the issued certificate and its key authenticate; a fresh key is certified.
        csr(dir, "k2.pem", aeId, challenge(dir, "cert1.pem", "k1.pem", ""), "csr2.b64");
        assertEquals("200 application/pkcs7-mime; smime-type=certs-only",
                curl(dir, "cert1.pem", "k1.pem", "POST", "/simplereenroll", "csr2.b64", "cert2.b64"));
        certsOnlyToPem(dir, "cert2.b64", "cert2.pem");
        assertEquals("cert2.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "cert2.pem").strip());
        assertEquals(run(dir, "openssl", "pkey", "-in", "k2.pem", "-pubout"),
                run(dir, "openssl", "x509", "-in", "cert2.pem", "-noout", "-pubkey"));
        assertEquals(run(dir, "openssl", "x509", "-in", "cert1.pem", "-noout", "-subject", "-ext", "subjectAltName"),
                run(dir, "openssl", "x509", "-in", "cert2.pem", "-noout", "-subject", "-ext", "subjectAltName"));
    }

    @Test
    void serverkeygenReturnsAKeyOpensslReadsAndACertificateForIt(@TempDir Path dir) throws Exception {
        String aeId = bootstrap(dir, "curl-conf-2");
        csr(dir, "throwaway.pem", aeId, challenge(dir, "device.pem", "device.key", ""), "csr.b64");

        String status = curl(dir, "device.pem", "device.key", "POST", "/serverkeygen", "csr.b64", "multipart.txt");

        assertTrue(status.startsWith("200 multipart/mixed; boundary="), status);
        String body = Files.readString(dir.resolve("multipart.txt"));
        String[] parts = body.split("--" + status.substring(status.indexOf('=') + 1));
        Files.writeString(dir.resolve("key.b64"), parts[1].substring(parts[1].indexOf("\r\n\r\n") + 4));
        Files.writeString(dir.resolve("cert.b64"), parts[2].substring(parts[2].indexOf("\r\n\r\n") + 4));
        run(dir, "openssl", "base64", "-d", "-in", "key.b64", "-out", "key.der");
        certsOnlyToPem(dir, "cert.b64", "cert.pem");
        assertEquals(run(dir, "openssl", "pkey", "-inform", "DER", "-in", "key.der", "-pubout"),
                run(dir, "openssl", "x509", "-in", "cert.pem", "-noout", "-pubkey"), "the key is the certified one");
        assertEquals("cert.pem: OK", run(dir, "openssl", "verify", "-CAfile", "ca.pem", "cert.pem").strip());
    }

    @Test
    void aHeldRequestAnswers202WithRetryAfterAndNoBody(@TempDir Path dir) throws Exception {
        String aeId = bootstrap(dir, "curl-conf-3");
        csr(dir, "k.pem", aeId, challenge(dir, "device.pem", "device.key", "/held"), "csr.b64");

        String status = curl(dir, "device.pem", "device.key", "POST", "/held/simpleenroll", "csr.b64", "out");

        assertTrue(status.startsWith("202"), status);
        assertTrue(Files.readString(dir.resolve("out.headers")).contains("Retry-After: 30"), Files.readString(dir.resolve("out.headers")));
        assertEquals(0, Files.size(dir.resolve("out")));
    }

    @Test
    void unknownLabelPathMethodAndContentTypeGetTheirStatusAsTextPlain(@TempDir Path dir) throws Exception {
        bootstrap(dir, "curl-conf-4");
        Files.writeString(dir.resolve("junk.b64"), "AAAA");

        assertEquals("404 text/plain; charset=utf-8", curl(dir, null, null, "GET", "/nolabel/cacerts", null, "o1"));
        assertEquals("404 text/plain; charset=utf-8", curl(dir, null, null, "GET", "/fullcmc", null, "o2"));
        assertEquals("405 text/plain; charset=utf-8", curl(dir, null, null, "DELETE", "/cacerts", null, "o3"));
        String wrongType = run(dir, "curl", "-sS", "--cacert", "ca.pem", "--cert", "device.pem", "--key", "device.key",
                "-H", "Content-Type: text/plain", "--data-binary", "@junk.b64", "-o", "o4", "-w", "%{http_code} %{content_type}",
                mef.est("/simpleenroll").toString()).strip();
        assertEquals("415 text/plain; charset=utf-8", wrongType);
    }
}
