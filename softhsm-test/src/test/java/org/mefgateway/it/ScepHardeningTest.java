package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/**
 * The {@code scep:} block and SCEP's admission, against a real gateway on a real SoftHSM2 token
 * over real HTTP and HTTPS: SCEP served at a configured path on both listeners (HTTPS without a
 * client certificate), PKIOperations beyond {@code scep.maxInFlight} shed with 503 before their
 * message is read, hostile bodies answered 4xx (never 5xx, never a certificate), and the requests
 * counted in /metrics by operation and CertRep status. (One gateway per JVM: the per-client rate
 * and SCEP disabled are in ScepRateLimitTest and ScepDisabledTest.)
 */
class ScepHardeningTest {
    static final String PATH = "/cgi-bin/pkiclient.exe";
    static final int MAX_IN_FLIGHT = 2;

    static DeviceMaker maker;
    static TestGateway mef;
    static X509Certificate ra;
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static int devices;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-hard-maker");
        mef = TestGateway.startWithScep("path: " + PATH + ", listeners: [publication, est], maxInFlight: " + MAX_IN_FLIGHT
                + ", rateLimit: {perClientPerSecond: 0}", Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", ScepTest.SCEP_PROFILE),
                List.of(), maker);
        ra = certificates(send(HTTP, HttpRequest.newBuilder(http("?operation=GetCACert")).GET().build()).body()).stream()
                .filter(c -> c.getBasicConstraints() < 0).findFirst().orElseThrow();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void scepIsServedAtTheConfiguredPathAndNotAtTheDefaultOne() throws Exception {
        assertEquals(200, send(HTTP, HttpRequest.newBuilder(http("?operation=GetCACaps")).GET().build()).statusCode());
        HttpResponse<byte[]> atDefault = send(HTTP, HttpRequest.newBuilder(mef.publicationBase().resolve("/scep?operation=GetCACaps")).GET().build());
        assertEquals(404, atDefault.statusCode());
    }

    /** scep.listeners: [est]: HTTPS on the EST listener, which only requests a client certificate: SCEP clients present none. */
    @Test
    void overHttpsOnTheEstListenerWithoutAClientCertificateGetCaCapsAndAPkcsReqAreServed() throws Exception {
        HttpClient tls = mef.client(null);
        HttpResponse<byte[]> caps = send(tls, HttpRequest.newBuilder(https("?operation=GetCACaps")).GET().build());
        assertEquals(200, caps.statusCode());
        assertEquals(List.of("POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal"),
                new String(caps.body(), StandardCharsets.US_ASCII).lines().toList());
        HttpResponse<byte[]> caCert = send(tls, HttpRequest.newBuilder(https("?operation=GetCACert")).GET().build());
        assertTrue(certificates(caCert.body()).contains(ra), "the same RA certificate as over plain HTTP");

        Registered device = register();
        HttpResponse<byte[]> r = send(tls, post(https("?operation=PKIOperation"), pkcsReq(device)));
        assertEquals(200, r.statusCode());
        BcScep.CertRep rep = BcScep.CertRep.read(r.body(), ra);
        assertEquals("0", rep.pkiStatus(), "SUCCESS");
        X509Certificate issued = rep.certificate(device.keys().getPrivate());
        issued.verify(mef.caCertificate.getPublicKey());
        assertEquals(device.keys().getPublic(), issued.getPublicKey());
    }

    /**
     * Two PKCSReqs held in their ledger write fill scep.maxInFlight: every further PKIOperation, by
     * POST and by GET, is answered 503 + Retry-After before its message is read (counted under
     * operation PKIOperation: its messageType was never parsed, so the RA key did nothing for it),
     * while GetCACaps is still answered; once the ledger moves, the two held get their certificate.
     */
    @Test
    void pkiOperationsBeyondMaxInFlightAreShedWith503BeforeTheirMessageIsRead() throws Exception {
        double shedBefore = counter(scrape(), "PKIOperation", "shed");
        double successBefore = counter(scrape(), "PKCSReq", "success");
        Registered first = register();
        Registered second = register();
        Registered third = register();
        List<CompletableFuture<HttpResponse<byte[]>>> held = new ArrayList<>();
        try (LedgerGate gate = LedgerGate.closed(mef)) {
            held.add(HTTP.sendAsync(post(http("?operation=PKIOperation"), pkcsReq(first)), HttpResponse.BodyHandlers.ofByteArray()));
            held.add(HTTP.sendAsync(post(http("?operation=PKIOperation"), pkcsReq(second)), HttpResponse.BodyHandlers.ofByteArray()));
            awaitInFlight(MAX_IN_FLIGHT);

            byte[] message = pkcsReq(third);
            List<CompletableFuture<HttpResponse<byte[]>>> shed = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                shed.add(HTTP.sendAsync(post(http("?operation=PKIOperation"), message), HttpResponse.BodyHandlers.ofByteArray()));
            }
            shed.add(HTTP.sendAsync(HttpRequest.newBuilder(http("?operation=PKIOperation&message="
                    + URLEncoder.encode(Base64.getEncoder().encodeToString(message), StandardCharsets.US_ASCII))).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray()));
            for (CompletableFuture<HttpResponse<byte[]>> f : shed) {
                HttpResponse<byte[]> r = f.get();
                assertEquals(503, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
            }
            assertEquals(200, send(HTTP, HttpRequest.newBuilder(http("?operation=GetCACaps")).GET().build()).statusCode());
            assertEquals(shedBefore + 6, counter(scrape(), "PKIOperation", "shed"));
        }
        for (CompletableFuture<HttpResponse<byte[]>> f : held) {
            HttpResponse<byte[]> r = f.get();
            assertEquals(200, r.statusCode());
            assertEquals("0", BcScep.CertRep.read(r.body(), ra).pkiStatus(), "SUCCESS");
        }
        // The slots are given back: the third device, shed before, is served now.
        HttpResponse<byte[]> served = send(HTTP, post(http("?operation=PKIOperation"), pkcsReq(third)));
        assertEquals("0", BcScep.CertRep.read(served.body(), ra).pkiStatus(), "SUCCESS");
        assertEquals(successBefore + 3, counter(scrape(), "PKCSReq", "success"));
    }

    /** Hostile or broken CMS: a clear 4xx each time, never a 5xx, never a certificate; counted as rejected. */
    @Test
    void hostileBodiesAreRefusedWith4xxAndNeverA5xx() throws Exception {
        Registered device = register();
        byte[] genuine = pkcsReq(device);
        byte[] degenerate = send(HTTP, HttpRequest.newBuilder(http("?operation=GetCACert")).GET().build()).body();
        int issuedBefore = mef.issued().size();
        double rejectedBefore = counter(scrape(), "PKIOperation", "rejected");

        assertRefused(400, post(http("?operation=PKIOperation"), Arrays.copyOf(genuine, genuine.length / 2)), "truncated DER");
        assertRefused(400, post(http("?operation=PKIOperation"),
                new ContentInfo(CMSObjectIdentifiers.data, new DEROctetString(genuine)).getEncoded()), "not a SignedData");
        assertRefused(400, post(http("?operation=PKIOperation"), degenerate), "a SignedData without a signer");
        assertRefused(400, post(http("?operation=PKIOperation"), new byte[0]), "an empty body");
        assertRefused(400, HttpRequest.newBuilder(http("?operation=PKIOperation&message=%25%25not-base64")).GET().build(), "not base64");
        assertRefused(414, HttpRequest.newBuilder(http("?operation=PKIOperation&message=" + "A".repeat(5000))).GET().build(),
                "a GET-encoded message beyond the request line limit");

        assertEquals(issuedBefore, mef.issued().size(), "nothing issued");
        // The 414 is refused by the HTTP codec before any route, so SCEP's count does not see it.
        assertEquals(rejectedBefore + 5, counter(scrape(), "PKIOperation", "rejected"));
    }

    /** mef_scep_requests_total by operation and CertRep status, and the latency histogram beside it. */
    @Test
    void metricsCountRequestsByOperationAndCertRepStatus() throws Exception {
        String before = scrape();
        Registered device = register();
        assertEquals(200, send(HTTP, HttpRequest.newBuilder(http("?operation=GetCACaps")).GET().build()).statusCode());
        assertEquals("0", BcScep.CertRep.read(send(HTTP, post(http("?operation=PKIOperation"), pkcsReq(device))).body(), ra).pkiStatus());
        // The challenge is spent: another key's request with it is a FAILURE badRequest (the same
        // request again would be a redelivery of the same certificate, a success).
        KeyPair other = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        Registered thief = new Registered(device.id(), other, BcScep.selfSigned(other, "scep-hard-other"), device.challenge());
        assertEquals("2", BcScep.CertRep.read(send(HTTP, post(http("?operation=PKIOperation"), pkcsReq(thief))).body(), ra).failInfo());
        assertEquals(400, send(HTTP, HttpRequest.newBuilder(http("?operation=GetNextCACert")).GET().build()).statusCode());

        String after = scrape();
        assertEquals(counter(before, "GetCACaps", "success") + 1, counter(after, "GetCACaps", "success"));
        assertEquals(counter(before, "PKCSReq", "success") + 1, counter(after, "PKCSReq", "success"));
        assertEquals(counter(before, "PKCSReq", "failure:badRequest") + 1, counter(after, "PKCSReq", "failure:badRequest"));
        assertEquals(counter(before, "unknown", "rejected") + 1, counter(after, "unknown", "rejected"));
        assertTrue(after.contains("mef_scep_request_seconds_bucket{operation=\"PKCSReq\",outcome=\"success\","), "latency histogram");
        assertTrue(after.contains("mef_scep_in_flight 0.0"), "no PKIOperation in flight");
    }

    private record Registered(String id, KeyPair keys, X509Certificate signer, String challenge) {
    }

    /** A device registered for profile scep, its new RSA key, and a challenge the core issued to it. */
    private static Registered register() throws Exception {
        String name = "scep-hard-" + (++devices);
        DeviceMaker.Device device = maker.device(name);
        String id = ScepTest.AE_ID + "-h" + devices;
        mef.register(device, name, "AE-ID", id, List.of("scep"), 40);
        String challenge = mef.challenge(mef.client(device), "/scep");
        KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        return new Registered(id, keys, BcScep.selfSigned(keys, name), challenge);
    }

    private static byte[] pkcsReq(Registered device) throws Exception {
        byte[] csr = new TestCsr().keys(device.keys()).subject("CN=" + device.id()).challenge(device.challenge()).uri(device.id())
                .eku(Oids.SUID_EKU_ARC + ".40").der();
        return BcScep.request("19", csr, ra, device.signer(), device.keys().getPrivate(), UUID.randomUUID().toString(), BcScep.nonce());
    }

    private static void assertRefused(int status, HttpRequest request, String what) throws Exception {
        HttpResponse<byte[]> r = send(HTTP, request);
        assertEquals(status, r.statusCode(), what + ": " + new String(r.body(), StandardCharsets.UTF_8));
        assertFalse(r.headers().firstValue("Content-Type").orElse("").contains("pki-message"), what + ": no CertRep");
    }

    private static void awaitInFlight(int expected) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        while (mef.gateway.meters().get("mef.scep.in.flight").gauge().value() < expected) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError(expected + " PKIOperations did not reach the ledger gate within 30 s");
            }
            Thread.sleep(10);
        }
    }

    /** /metrics of the admin listener, as Prometheus scrapes it. */
    private static String scrape() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + "/metrics"));
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** mef_scep_requests_total{operation,outcome} in a scrape; 0 when the series does not exist yet. */
    private static double counter(String scrape, String operation, String outcome) {
        String series = "mef_scep_requests_total{operation=\"" + operation + "\",outcome=\"" + outcome + "\"} ";
        return scrape.lines().filter(l -> l.startsWith(series)).mapToDouble(l -> Double.parseDouble(l.substring(series.length())))
                .findFirst().orElse(0);
    }

    private static HttpRequest post(URI uri, byte[] message) {
        return HttpRequest.newBuilder(uri).header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(message)).build();
    }

    private static HttpResponse<byte[]> send(HttpClient client, HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    private static List<X509Certificate> certificates(byte[] degenerateSignedData) throws Exception {
        return BcScep.certificates(degenerateSignedData);
    }

    private static URI http(String query) {
        return mef.publicationBase().resolve(PATH + query);
    }

    /** By the TLS server name the EST listener's certificate carries. */
    private static URI https(String query) {
        return URI.create("https://localhost:" + mef.gateway.estPort() + PATH + query);
    }
}
