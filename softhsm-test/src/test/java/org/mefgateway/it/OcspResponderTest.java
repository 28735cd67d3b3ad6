package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Responses;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * OCSP that costs no CA-key work per anonymous request (RFC 6960 with the RFC 5019 profile): the
 * answers are signed by the delegated responder's key, once per certificate, CertID form and
 * status for all the requests that ask, and the CA key signs only the responder's certificate.
 * Signatures are counted where operators count them: {@code mef_hsm_sign_seconds_count} of the CA
 * key ({@code key="default"}) and of its responder key ({@code key="default/ocsp"}) on /metrics.
 * Tests that move the gateway's clock come last (the order below). The CRL is refreshed every 5
 * days here, so that moving the clock by 4.5 days makes no CRL due: the CA key's count is then
 * the responder renewal alone, without waiting for the minute check.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OcspResponderTest {
    static final Map<String, String> CA_KEY = Map.of("key", "default", "token", "mef-test");
    static final Map<String, String> RESPONDER_KEY = Map.of("key", "default/ocsp", "token", "mef-test");
    static final int FLOOD = 2_000;

    static DeviceMaker maker;
    static TestGateway mef;
    static HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    static DigestCalculatorProvider digests;
    /** Enrolled before any test moves the clock (our Enrolee refuses a certificate not yet valid by its own clock). */
    static List<X509Certificate> flooded;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker OCSP CA");
        mef = TestGateway.startWithPublication("crlValidityHours: 240, crlRefreshMinutes: 7200", maker);
        digests = new JcaDigestCalculatorProviderBuilder().build();
    }

    @AfterAll
    static void stop() {
        mef.close();
    }


    /**
     * 2,000 requests over three certificates, each asked about with a SHA-1 and a SHA-256 CertID,
     * by GET and POST, with a fresh nonce and without, from 32 clients at once: six signatures by
     * the responder key (one per certificate and CertID form), none by the CA key. Before the
     * delegated responder, each request was one CA-key signature (2,000).
     */
    @Test
    @Order(1)
    void aFloodOfRequestsForKnownCertificatesCostsOneResponderSignaturePerCertificateAndCertIdFormAndNoCaKeySignature(
            @TempDir Path dir) throws Exception {
        List<X509Certificate> certs = List.of(mef.enrolNew(maker, "flood-1", dir), mef.enrolNew(maker, "flood-2", dir), mef.enrolNew(maker, "flood-3", dir));
        flooded = certs;
        List<CertificateID> ids = new ArrayList<>();
        for (X509Certificate cert : certs) {
            ids.add(id(CertificateID.HASH_SHA1, mef.caCertificate, cert.getSerialNumber()));
            ids.add(id(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256), mef.caCertificate, cert.getSerialNumber()));
        }
        String before = scrape();

        ExecutorService clients = Executors.newFixedThreadPool(32);
        List<Future<byte[]>> answers = new ArrayList<>();
        SecureRandom random = new SecureRandom();
        try {
            for (int i = 0; i < FLOOD; i++) {
                CertificateID id = ids.get(i % ids.size());
                boolean get = (i / ids.size()) % 2 == 0;
                byte[] nonce = (i / (2 * ids.size())) % 2 == 0 ? null : random.generateSeed(16);
                answers.add(clients.submit(() -> {
                    HttpResponse<byte[]> r = get ? ocspGet(request(nonce, id)) : ocspPost(request(nonce, id));
                    assertEquals(200, r.statusCode());
                    return r.body();
                }));
            }
            Set<String> distinct = new HashSet<>();
            for (Future<byte[]> answer : answers) {
                distinct.add(Base64.getEncoder().encodeToString(answer.get()));
            }
            String after = scrape();

            double caSignatures = delta(before, after, "mef_hsm_sign_seconds_count", CA_KEY);
            double responderSignatures = delta(before, after, "mef_hsm_sign_seconds_count", RESPONDER_KEY);
            System.out.printf("[ocsp-flood] %d requests (%d certificates x SHA-1/SHA-256 CertID, GET/POST, with/without nonce, "
                    + "32 clients): CA-key signatures %.0f, responder-key signatures %.0f, distinct responses %d%n",
                    FLOOD, certs.size(), caSignatures, responderSignatures, distinct.size());
            assertEquals(0.0, caSignatures, "the CA key signs no OCSP answer");
            assertEquals(6.0, responderSignatures, "one per certificate and CertID form");
            assertEquals(FLOOD, delta(before, after, "mef_ocsp_responses_total", Map.of("answer", "good")));
            assertEquals(6, distinct.size());
            for (String body : distinct) {
                BasicOCSPResp basic = signedBasic(Base64.getDecoder().decode(body));
                SingleResp single = basic.getResponses()[0];
                assertEquals(CertificateStatus.GOOD, single.getCertStatus());
                assertTrue(ids.contains(single.getCertID()), "the CertID as asked");
                assertEquals(Duration.ofHours(1), Duration.between(single.getThisUpdate().toInstant(), single.getNextUpdate().toInstant()));
            }
        } finally {
            clients.shutdownNow();
        }
    }

    /**
     * The ledger is read on every request: the first request after a revocation is answered
     * revoked (one new responder signature), the next ones from that response; the CA key signs
     * the CRL, nothing for OCSP.
     */
    @Test
    @Order(2)
    void aRevocationIsAnsweredRevokedByTheNextRequest(@TempDir Path dir) throws Exception {
        X509Certificate cert = mef.enrolNew(maker, "revoked-next", dir);
        CertificateID id = id(CertificateID.HASH_SHA1, mef.caCertificate, cert.getSerialNumber());
        byte[] good = ocspPost(request(null, id)).body();
        assertEquals(CertificateStatus.GOOD, signedBasic(good).getResponses()[0].getCertStatus());
        String before = scrape();

        HttpResponse<String> revoked = new AdminClient(mef.config).postJson(
                "/admin/certificates/" + cert.getSerialNumber().toString(16) + "/revoke", "{\"reason\":\"keyCompromise\"}");
        assertEquals(200, revoked.statusCode(), revoked.body());
        byte[] first = ocspPost(request(null, id)).body();
        byte[] second = ocspGet(request(null, id)).body();
        String after = scrape();

        RevokedStatus status = (RevokedStatus) signedBasic(first).getResponses()[0].getCertStatus();
        assertEquals(1, status.getRevocationReason(), "keyCompromise");
        assertArrayEquals(first, second, "the revoked answer is reused");
        assertEquals(1.0, delta(before, after, "mef_hsm_sign_seconds_count", RESPONDER_KEY));
        assertEquals(1.0, delta(before, after, "mef_hsm_sign_seconds_count", CA_KEY), "the CRL the revocation re-signed");
    }

    /**
     * What has no answer worth a signature costs none: a certificate of another issuer and a serial
     * this CA never issued get the unsigned "unauthorized" (RFC 5019 2.2.3), a request for two
     * certificates or with a CertID hash we do not answer for likewise malformedRequest or
     * unauthorized; 1,000 random serials sign nothing either.
     */
    @Test
    @Order(3)
    void foreignIssuersAndSerialsNeverIssuedGetUnsignedAnswersThatCostNoSignature(@TempDir Path dir) throws Exception {
        X509Certificate ours = mef.enrolNew(maker, "unsigned-1", dir);
        String before = scrape();

        HttpResponse<byte[]> foreign = ocspPost(request(null, id(CertificateID.HASH_SHA1, maker.caCertificate, ours.getSerialNumber())));
        assertEquals(OCSPResp.UNAUTHORIZED, new OCSPResp(foreign.body()).getStatus());
        assertEquals(null, new OCSPResp(foreign.body()).getResponseObject(), "unsigned: no response bytes");
        assertTrue(foreign.headers().firstValue("Cache-Control").isEmpty(), foreign.headers().toString());
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < 1000; i++) {
            HttpResponse<byte[]> never = ocspPost(request(null, id(CertificateID.HASH_SHA1, mef.caCertificate, new BigInteger(127, random))));
            assertEquals(OCSPResp.UNAUTHORIZED, new OCSPResp(never.body()).getStatus());
        }
        byte[] two = new OCSPReqBuilder().addRequest(id(CertificateID.HASH_SHA1, mef.caCertificate, ours.getSerialNumber()))
                .addRequest(id(CertificateID.HASH_SHA1, mef.caCertificate, BigInteger.TEN)).build().getEncoded();
        assertEquals(OCSPResp.MALFORMED_REQUEST, new OCSPResp(ocspPost(two).body()).getStatus(), "RFC 5019 2.1.1: one certificate");
        byte[] sha384 = request(null, id(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha384), mef.caCertificate, ours.getSerialNumber()));
        assertEquals(OCSPResp.UNAUTHORIZED, new OCSPResp(ocspPost(sha384).body()).getStatus());
        String after = scrape();

        assertEquals(0.0, delta(before, after, "mef_hsm_sign_seconds_count", RESPONDER_KEY));
        assertEquals(0.0, delta(before, after, "mef_hsm_sign_seconds_count", CA_KEY));
        assertEquals(1002.0, delta(before, after, "mef_ocsp_responses_total", Map.of("answer", "unauthorized")));
        assertEquals(1.0, delta(before, after, "mef_ocsp_responses_total", Map.of("answer", "malformed")));
    }

    /**
     * RFC 5019 6.2: Last-Modified is thisUpdate, Expires nextUpdate (an hour later), and max-age
     * what is left until the responder would sign again (10 minutes after thisUpdate), so an HTTP
     * cache never serves a response longer than the responder itself; then one new signature.
     */
    @Test
    @Order(4)
    void signedAnswersMayBeCachedUntilTheResponderWouldSignThemAgain(@TempDir Path dir) throws Exception {
        X509Certificate cert = mef.enrolNew(maker, "cached-1", dir);
        byte[] request = request(null, id(CertificateID.HASH_SHA1, mef.caCertificate, cert.getSerialNumber()));

        Instant sent = mef.clock.instant();
        HttpResponse<byte[]> first = ocspGet(request);
        Instant answered = mef.clock.instant();
        SingleResp single = signedBasic(first.body()).getResponses()[0];
        Instant thisUpdate = single.getThisUpdate().toInstant();
        assertEquals(Responses.httpDate(thisUpdate), first.headers().firstValue("Last-Modified").orElse(""));
        assertEquals(Responses.httpDate(thisUpdate.plus(Duration.ofHours(1))), first.headers().firstValue("Expires").orElse(""));
        assertMaxAgeUntil(thisUpdate.plus(Duration.ofMinutes(10)), sent, answered, first);

        mef.clock.advance(Duration.ofMinutes(5));
        sent = mef.clock.instant();
        HttpResponse<byte[]> cached = ocspGet(request);
        answered = mef.clock.instant();
        assertArrayEquals(first.body(), cached.body());
        assertMaxAgeUntil(thisUpdate.plus(Duration.ofMinutes(10)), sent, answered, cached);

        String before = scrape();
        mef.clock.advance(Duration.ofMinutes(6));
        HttpResponse<byte[]> refreshed = ocspGet(request);
        assertNotEquals(thisUpdate, signedBasic(refreshed.body()).getResponses()[0].getThisUpdate().toInstant());
        assertEquals(1.0, delta(before, scrape(), "mef_hsm_sign_seconds_count", RESPONDER_KEY), "signed again once, 11 minutes on");
    }

    /**
     * The responder certificate lives 7 days and is renewed when 3 are left: 4.5 days on, the next
     * answer carries a new certificate for the same key, which cost the CA key one signature (the
     * CRL is not due yet: no other CA-key signature, checked by its number).
     */
    @Test
    @Order(5)
    void theResponderCertificateIsRenewedWithOneCaKeySignatureBeforeItExpires() throws Exception {
        X509Certificate cert = flooded.get(0);
        byte[] request = request(null, id(CertificateID.HASH_SHA1, mef.caCertificate, cert.getSerialNumber()));
        X509CertificateHolder old = signedBasic(ocspPost(request).body()).getCerts()[0];
        long crlBefore = mef.gateway.store().latestCrl("default").orElseThrow().number();
        String before = scrape();

        mef.clock.advance(Duration.ofHours(108));
        BasicOCSPResp renewed = signedBasic(ocspPost(request).body());
        String after = scrape();
        long crlsSigned = mef.gateway.store().latestCrl("default").orElseThrow().number() - crlBefore;

        X509CertificateHolder responder = renewed.getCerts()[0];
        assertNotEquals(old.getSerialNumber(), responder.getSerialNumber());
        assertEquals(old.getSubjectPublicKeyInfo(), responder.getSubjectPublicKeyInfo(), "the same responder key on the token");
        assertEquals(Duration.ofDays(7).plusMinutes(1), Duration.between(responder.getNotBefore().toInstant(), responder.getNotAfter().toInstant()));
        assertEquals(0, crlsSigned, "no CRL due 4.5 days on with a 5-day refresh");
        assertEquals(1.0, delta(before, after, "mef_hsm_sign_seconds_count", CA_KEY), "the renewal alone");
        assertEquals((double) responder.getNotAfter().toInstant().getEpochSecond(),
                MonitoringTest.value(after, "mef_ocsp_responder_certificate_not_after_seconds", Map.of("key", "default")));
        assertEquals(2, mef.gateway.store().auditEvents(0, 10_000).stream().filter(e -> e.type().equals("ocsp.responder.certified")).count(),
                "the first at start, the renewal");
    }

    // --- helpers --------------------------------------------------------------------------------

    /**
     * Cache-Control is RFC 5019's, with max-age the whole seconds from the responder's "now" to
     * {@code refresh}; that "now" lies between {@code sent} and {@code answered} (the gateway's clock).
     */
    static void assertMaxAgeUntil(Instant refresh, Instant sent, Instant answered, HttpResponse<byte[]> r) {
        String cacheControl = r.headers().firstValue("Cache-Control").orElse("");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("max-age=(\\d+), public, no-transform, must-revalidate").matcher(cacheControl);
        assertTrue(m.matches(), cacheControl);
        long maxAge = Long.parseLong(m.group(1));
        assertTrue(maxAge <= Duration.between(sent, refresh).toSeconds() && maxAge >= Duration.between(answered, refresh).toSeconds(),
                "max-age " + maxAge + " counts down to " + refresh + " from the time of the request (" + sent + " .. " + answered + ")");
    }

    static CertificateID id(AlgorithmIdentifier hash, X509Certificate issuer, BigInteger serial) throws Exception {
        return new CertificateID(digests.get(hash), new JcaX509CertificateHolder(issuer), serial);
    }

    static byte[] request(byte[] nonce, CertificateID id) throws Exception {
        OCSPReqBuilder builder = new OCSPReqBuilder().addRequest(id);
        if (nonce != null) {
            builder.setRequestExtensions(new Extensions(new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false,
                    new DEROctetString(nonce).getEncoded())));
        }
        return builder.build().getEncoded();
    }

    static HttpResponse<byte[]> ocspPost(byte[] request) throws Exception {
        return http.send(HttpRequest.newBuilder(mef.publicationBase().resolve("/ocsp")).header("Content-Type", "application/ocsp-request")
                .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** RFC 6960 A.1: the URL-encoded base64 of the DER request after the responder's URL. */
    static HttpResponse<byte[]> ocspGet(byte[] request) throws Exception {
        String path = "/ocsp/" + URLEncoder.encode(Base64.getEncoder().encodeToString(request), StandardCharsets.US_ASCII);
        return http.send(HttpRequest.newBuilder(mef.publicationBase().resolve(path)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /**
     * The signed response, checked as a relying party checks a delegated responder (RFC 6960
     * 4.2.2.2): its certificate, in the response, issued by the CA for OCSP signing, signed it.
     */
    static BasicOCSPResp signedBasic(byte[] der) throws Exception {
        OCSPResp response = new OCSPResp(der);
        assertEquals(OCSPResp.SUCCESSFUL, response.getStatus());
        BasicOCSPResp basic = (BasicOCSPResp) response.getResponseObject();
        X509CertificateHolder responder = basic.getCerts()[0];
        assertTrue(responder.isSignatureValid(new JcaContentVerifierProviderBuilder().build(mef.caCertificate)));
        assertTrue(org.bouncycastle.asn1.x509.ExtendedKeyUsage.fromExtensions(responder.getExtensions())
                .hasKeyPurposeId(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_OCSPSigning));
        assertTrue(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(responder)));
        return basic;
    }

    static String scrape() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + "/metrics"));
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    static double delta(String before, String after, String name, Map<String, String> labels) {
        return MonitoringTest.value(after, name, labels) - MonitoringTest.valueOr0(before, name, labels);
    }
}
