package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * Every RFC 7030 operation the gateway serves (all but fullcmc), driven by {@code curl}, decoded
 * by GNU coreutils {@code base64 -d} and read by {@code openssl}, with keys and CSRs made by
 * {@code openssl}: the rows of the conformance table in the README, one test per row, each
 * command line printed ({@code [conformance] <row>: $ <command>}) so that the table can quote
 * it. The responses go through shell pipelines as a scripted device would run them
 * ({@code curl ... | tee body | base64 -d | openssl ...}, under {@code set -o pipefail}).
 *
 * <p>GNU {@code base64 -d} is the strict decoder: it refuses a CR anywhere in its input (so
 * CRLF-broken base64 fails, exit 1), where {@code openssl base64 -d} accepts line breaks (and,
 * without {@code -A}, decodes a last line that ends without a newline to nothing). The gateway
 * sends each base64 body as one unbroken line, and each test also checks the bytes {@code curl}
 * saved: no CR or LF inside the base64, and the header lines as sent (canonical names, exact
 * values). Request bodies, in contrast, are sent the way sloppy clients send them (CRLF every 40
 * characters, a tab, trailing spaces, a Content-Transfer-Encoding header) to prove RFC 8951's
 * tolerance on input.
 */
class CurlConformanceTest {
    static final Pattern ONE_LINE_BASE64 = Pattern.compile("(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?");
    static final String CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only";

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

    /**
     * The decoder of every row is the strict one: GNU coreutils' base64, which refuses CRLF-broken
     * base64 (the response format before issue 13) and decodes one unbroken line.
     */
    @Test
    void theBase64OfTheRowsIsGnuCoreutilsWhichRefusesCrlfBrokenBase64(@TempDir Path dir) throws Exception {
        assertTrue(sh(dir, "decoder", "base64 --version").contains("GNU coreutils"));
        Files.writeString(dir.resolve("broken.b64"), "QUJDREVG\r\nR0hJ");
        Files.writeString(dir.resolve("unbroken.b64"), "QUJDREVGR0hJ");
        System.out.println("[conformance] decoder: $ base64 -d broken.b64   # must fail: 'base64: invalid input', exit 1");
        var broken = new ProcessBuilder("base64", "-d", "broken.b64").directory(dir.toFile()).redirectErrorStream(true).start();
        assertTrue(broken.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        String said = new String(broken.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, broken.exitValue(), said);
        assertTrue(said.contains("invalid input"), said);
        assertEquals("ABCDEFGHI", sh(dir, "decoder", "base64 -d unbroken.b64"));
    }

    // --- the rows -------------------------------------------------------------------------------

    @Test
    void cacertsIsDecodedByGnuBase64AndReadByOpensslPkcs7(@TempDir Path dir) throws Exception {
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);

        String printed = sh(dir, "cacerts", "curl -sS --fail --cacert ca.pem -D cacerts.headers " + mef.est("/cacerts")
                + " | tee cacerts.b64 | base64 -d | openssl pkcs7 -inform DER -print_certs");

        assertBase64Response(dir, "cacerts", CERTS_ONLY);
        assertEquals(List.of(mef.caCertificate), Pem.parse(printed, "openssl pkcs7 -print_certs"));
    }

    @Test
    void csrattrsSimpleenrollAndSimplereenrollAreDecodedByGnuBase64AndVerifiedByOpenssl(@TempDir Path dir) throws Exception {
        String aeId = bootstrap(dir, "curl-conf-1");

        // csrattrs, then simpleenroll with the challenge it gave.
        csr(dir, "simpleenroll", "k1.pem", aeId, challenge(dir, "csrattrs", "device.pem", "device.key", "", "attrs1"), "csr1.b64");
        sh(dir, "simpleenroll", curlPost("device.pem", "device.key", "csr1.b64", "cert1", mef.est("/simpleenroll").toString())
                + " | tee cert1.b64 | base64 -d | openssl pkcs7 -inform DER -print_certs -out cert1.pem");
        assertBase64Response(dir, "cert1", CERTS_ONLY);
        assertEquals("cert1.pem: OK", sh(dir, "simpleenroll", "openssl verify -CAfile ca.pem cert1.pem").strip());
        assertEquals(sh(dir, "simpleenroll", "openssl pkey -in k1.pem -pubout"),
                sh(dir, "simpleenroll", "openssl x509 -in cert1.pem -noout -pubkey"), "the certificate is for the CSR's key");

        // simplereenroll: the issued certificate and its key authenticate; a fresh key is certified.
        csr(dir, "simplereenroll", "k2.pem", aeId, challenge(dir, "simplereenroll", "cert1.pem", "k1.pem", "", "attrs2"), "csr2.b64");
        sh(dir, "simplereenroll", curlPost("cert1.pem", "k1.pem", "csr2.b64", "cert2", mef.est("/simplereenroll").toString())
                + " | tee cert2.b64 | base64 -d | openssl pkcs7 -inform DER -print_certs -out cert2.pem");
        assertBase64Response(dir, "cert2", CERTS_ONLY);
        assertEquals("cert2.pem: OK", sh(dir, "simplereenroll", "openssl verify -CAfile ca.pem cert2.pem").strip());
        assertEquals(sh(dir, "simplereenroll", "openssl pkey -in k2.pem -pubout"),
                sh(dir, "simplereenroll", "openssl x509 -in cert2.pem -noout -pubkey"));
        assertEquals(sh(dir, "simplereenroll", "openssl x509 -in cert1.pem -noout -subject -ext subjectAltName"),
                sh(dir, "simplereenroll", "openssl x509 -in cert2.pem -noout -subject -ext subjectAltName"));
    }

    /**
     * The multipart is split by awk at its CRLF line ends (RFC 2046: the CRLF before a delimiter
     * belongs to it), so each part's content reaches {@code base64 -d} exactly as sent; a CR or LF
     * inside the base64 would cut it short and openssl would fail.
     */
    @Test
    void serverkeygenPartsAreEachDecodedByGnuBase64TheKeyReadByOpensslPkey(@TempDir Path dir) throws Exception {
        String aeId = bootstrap(dir, "curl-conf-2");
        csr(dir, "serverkeygen", "throwaway.pem", aeId, challenge(dir, "serverkeygen", "device.pem", "device.key", "", "attrs"),
                "csr.b64");

        sh(dir, "serverkeygen", curlPost("device.pem", "device.key", "csr.b64", "skg", mef.est("/serverkeygen").toString())
                + " -o skg.multipart");

        String headers = Files.readString(dir.resolve("skg.headers"));
        assertTrue(headers.startsWith("HTTP/1.1 200 OK\r\n"), headers);
        assertTrue(headers.contains("\r\nContent-Type: multipart/mixed; boundary=\"est-mef-boundary\"\r\n"), headers);
        assertTrue(headers.contains("\r\nContent-Length: "), headers);
        String body = Files.readString(dir.resolve("skg.multipart"), StandardCharsets.ISO_8859_1);
        Matcher framing = Pattern.compile("--est-mef-boundary\r\n"
                + "Content-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n([^\r\n]*)\r\n"
                + "--est-mef-boundary\r\n"
                + "Content-Type: " + Pattern.quote(CERTS_ONLY) + "\r\nContent-Transfer-Encoding: base64\r\n\r\n([^\r\n]*)\r\n"
                + "--est-mef-boundary--\r\n").matcher(body);
        assertTrue(framing.matches(), "RFC 2046 framing, CRLF line ends, no CR or LF inside a part's base64:\n" + body);
        assertTrue(ONE_LINE_BASE64.matcher(framing.group(1)).matches(), framing.group(1));
        assertTrue(ONE_LINE_BASE64.matcher(framing.group(2)).matches(), framing.group(2));

        String part = "awk 'BEGIN{RS=\"\\r\\n\"} $0==\"Content-Type: %s\"{p=1} p&&$0==\"\"{getline; print; exit}' skg.multipart";
        sh(dir, "serverkeygen", String.format(part, "application/pkcs8") + " | base64 -d | openssl pkey -inform DER -out key.pem");
        sh(dir, "serverkeygen", String.format(part, CERTS_ONLY) + " | base64 -d | openssl pkcs7 -inform DER -print_certs -out cert.pem");
        assertEquals(sh(dir, "serverkeygen", "openssl pkey -in key.pem -pubout"),
                sh(dir, "serverkeygen", "openssl x509 -in cert.pem -noout -pubkey"), "the key is the certified one");
        assertEquals("cert.pem: OK", sh(dir, "serverkeygen", "openssl verify -CAfile ca.pem cert.pem").strip());
    }

    /**
     * RFC 7030 4.2.3 on a label whose profile holds requests for approval: 202 with Retry-After
     * and an empty body; once the operator approves, the same request repeated gets the
     * certificate, through the same pipeline.
     */
    @Test
    void aHeldRequestIs202WithRetryAfterAndNoBodyAndTheApprovedRepeatIsDecodedByGnuBase64(@TempDir Path dir) throws Exception {
        String aeId = bootstrap(dir, "curl-conf-3");
        csr(dir, "202", "k.pem", aeId, challenge(dir, "202", "device.pem", "device.key", "/held", "attrs"), "csr.b64");

        String status = sh(dir, "202", curlPost("device.pem", "device.key", "csr.b64", "held", mef.est("/held/simpleenroll").toString())
                + " -o held.body -w '%{http_code}'");

        assertEquals("202", status.strip());
        String headers = Files.readString(dir.resolve("held.headers"));
        assertTrue(headers.startsWith("HTTP/1.1 202 Accepted\r\n"), headers);
        assertTrue(headers.contains("\r\nRetry-After: 30\r\n"), headers);
        assertTrue(headers.contains("\r\nContent-Length: 0\r\n"), headers);
        assertEquals(0, Files.size(dir.resolve("held.body")));

        AdminClient admin = new AdminClient(mef.config);
        JsonArray pending = new JsonArray(admin.get("/admin/requests?status=PENDING").body());
        String id = pending.stream().map(JsonObject.class::cast).filter(r -> r.getString("enroleeId").equals("curl-conf-3"))
                .map(r -> r.getString("id")).findFirst().orElseThrow();
        assertEquals(200, admin.postJson("/admin/requests/" + id + "/approve", "{}").statusCode());

        sh(dir, "202", curlPost("device.pem", "device.key", "csr.b64", "cert", mef.est("/held/simpleenroll").toString())
                + " | tee cert.b64 | base64 -d | openssl pkcs7 -inform DER -print_certs -out cert.pem");
        assertBase64Response(dir, "cert", CERTS_ONLY);
        assertEquals("cert.pem: OK", sh(dir, "202", "openssl verify -CAfile ca.pem cert.pem").strip());
    }

    @Test
    void unknownLabelPathMethodContentTypeAndNoCertificateGetTheirStatusAsTextPlain(@TempDir Path dir) throws Exception {
        bootstrap(dir, "curl-conf-4");
        Files.writeString(dir.resolve("junk.b64"), "AAAA");
        String plain = "text/plain; charset=utf-8";

        assertEquals("404 " + plain, curlStatus(dir, "404 label", null, "GET", "/nolabel/cacerts", null, "o1"));
        assertEquals("404 " + plain, curlStatus(dir, "404 fullcmc", null, "GET", "/fullcmc", null, "o2"));
        assertEquals("405 " + plain, curlStatus(dir, "405", null, "DELETE", "/cacerts", null, "o3"));
        assertTrue(Files.readString(dir.resolve("o3.headers")).contains("\r\nAllow: GET, HEAD\r\n"), Files.readString(dir.resolve("o3.headers")));
        assertEquals("415 " + plain, curlStatus(dir, "415", "device", "POST", "/simpleenroll", "text/plain", "o4"));
        assertEquals("401 " + plain, curlStatus(dir, "401", null, "GET", "/csrattrs", null, "o5"));
        assertTrue(Files.readString(dir.resolve("o5.headers")).contains("\r\nWWW-Authenticate: TLS-Client-Certificate realm=\"MEF\"\r\n"),
                Files.readString(dir.resolve("o5.headers")));
    }

    // --- helpers --------------------------------------------------------------------------------

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

    /** A POST of a sloppy base64 CSR (headers to {@code out}.headers, body to stdout); fails on an HTTP error. */
    private static String curlPost(String cert, String key, String bodyFile, String out, String url) {
        return "curl -sS --fail --cacert ca.pem --cert " + cert + " --key " + key
                + " -H 'Content-Type: application/pkcs10' -H 'Content-Transfer-Encoding: base64' --data-binary @" + bodyFile
                + " -D " + out + ".headers " + url;
    }

    /**
     * GET csrattrs with the given credential through GNU base64 -d and openssl asn1parse; the
     * challengePassword is the PRINTABLESTRING after its OID in asn1parse's text.
     */
    private static String challenge(Path dir, String row, String cert, String key, String label, String out) throws Exception {
        String asn1 = sh(dir, row, "curl -sS --fail --cacert ca.pem --cert " + cert + " --key " + key + " -D " + out + ".headers "
                + mef.est(label + "/csrattrs") + " | tee " + out + ".b64 | base64 -d | openssl asn1parse -inform DER");
        assertBase64Response(dir, out, "application/csrattrs");
        Matcher m = Pattern.compile(":challengePassword\\s*\\n.*?\\n.*?PRINTABLESTRING\\s*:(\\S+)").matcher(asn1);
        assertTrue(m.find(), asn1);
        return m.group(1);
    }

    /**
     * A 200 whose headers (as curl saved them) carry the content type and
     * Content-Transfer-Encoding, canonically spelled, and whose body (as tee saved it) is one
     * unbroken line of base64: no CR or LF anywhere.
     */
    private static void assertBase64Response(Path dir, String out, String contentType) throws Exception {
        String headers = Files.readString(dir.resolve(out + ".headers"), StandardCharsets.ISO_8859_1);
        assertTrue(headers.startsWith("HTTP/1.1 200 OK\r\n"), headers);
        assertTrue(headers.contains("\r\nContent-Type: " + contentType + "\r\n"), headers);
        assertTrue(headers.contains("\r\nContent-Transfer-Encoding: base64\r\n"), headers);
        String body = Files.readString(dir.resolve(out + ".b64"), StandardCharsets.ISO_8859_1);
        assertTrue(headers.contains("\r\nContent-Length: " + body.length() + "\r\n"), headers);
        assertFalse(body.isEmpty(), "an empty body");
        assertFalse(body.contains("\r") || body.contains("\n"), "CR or LF inside the base64:\n" + body);
        assertTrue(ONE_LINE_BASE64.matcher(body).matches(), "not one line of base64:\n" + body);
    }

    /**
     * openssl key + CSR (openssl req -outform DER) and its body as a sloppy client writes it:
     * base64 with CRLF every 40 characters, a leading tab and trailing spaces.
     */
    private static void csr(Path dir, String row, String key, String aeId, String challenge, String out) throws Exception {
        sh(dir, row, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + key);
        Files.writeString(dir.resolve("req.cnf"), String.join("\n", "[req]", "prompt = no", "distinguished_name = dn",
                "attributes = attrs", "req_extensions = ext", "[dn]", "CN = " + aeId, "[attrs]",
                "challengePassword = " + challenge, "[ext]", "subjectAltName = URI:" + aeId, ""));
        sh(dir, row, "openssl req -new -key " + key + " -config req.cnf -outform DER -out " + out + ".der");
        String b64 = Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve(out + ".der")));
        StringBuilder sloppy = new StringBuilder("\t");
        for (int i = 0; i < b64.length(); i += 40) {
            sloppy.append(b64, i, Math.min(b64.length(), i + 40)).append("\r\n");
        }
        Files.writeString(dir.resolve(out), sloppy.append("  \n").toString());
        System.out.println("[conformance] " + row + ": (" + out + ": base64 of " + out + ".der, a leading tab, CRLF every 40 characters,"
                + " trailing spaces)");
    }

    /** curl (anonymous, or with the device's bootstrap credential); returns "status content-type". */
    private static String curlStatus(Path dir, String row, String who, String method, String path, String contentType, String out)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--cacert", "ca.pem", "-X", method));
        if (who != null) {
            cmd.addAll(List.of("--cert", who + ".pem", "--key", who + ".key"));
        }
        if (contentType != null) {
            cmd.addAll(List.of("-H", "'Content-Type: " + contentType + "'", "--data-binary", "@junk.b64"));
        }
        cmd.addAll(List.of("-D", out + ".headers", "-o", out, "-w", "'%{http_code} %{content_type}'", mef.est(path).toString()));
        return sh(dir, row, String.join(" ", cmd)).strip();
    }

    /**
     * Runs a command line with bash ({@code set -o pipefail}: a failing curl or base64 fails the
     * pipeline) in {@code dir}, after printing it for the README's table; returns stdout.
     */
    static String sh(Path dir, String row, String commandLine) throws Exception {
        System.out.println("[conformance] " + row + ": $ " + commandLine);
        return CurlOpensslTest.run(dir, "bash", "-c", "set -o pipefail; " + commandLine);
    }
}
