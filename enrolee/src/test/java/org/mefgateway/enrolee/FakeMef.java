package org.mefgateway.enrolee;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.List;
import java.util.function.Function;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSAbsentContent;
import org.bouncycastle.cms.CMSSignedDataGenerator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

/**
 * An in-process stand-in for the gateway on 127.0.0.1, speaking the wire contract with mutual TLS,
 * so the Enrolee's HTTP, TLS and parsing code runs for real without the gateway.
 */
final class FakeMef implements AutoCloseable {
    static final String AE_ID = "//m2m.example.com/CSE3219/C9886";
    static final String CHALLENGE = "one-time-challenge-42";

    final TestPki ca;
    final TestPki bootstrapCa;
    final X509Certificate tlsServer;
    final HttpsServer server;
    /** The /simpleenroll behaviour: given the CSR DER, an answer. Replaceable per test. */
    volatile Function<byte[], Answer> simpleEnroll = this::issue;
    /** The /simplereenroll behaviour; the TLS client certificate of the request is {@link #client}. */
    volatile Function<byte[], Answer> simpleReenroll = this::reissue;
    /** The TLS client certificate of the request being handled (requests are handled one at a time). */
    volatile X509Certificate client;
    /** Every CSR received, as DER, in order. */
    final List<byte[]> enrolCsrs = Collections.synchronizedList(new ArrayList<>());
    final List<byte[]> reenrolCsrs = Collections.synchronizedList(new ArrayList<>());
    /** The TLS client certificate of each /simplereenroll request. */
    final List<X509Certificate> reenrolClients = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger csrattrsCalls = new AtomicInteger();
    volatile String command = """
            {"enroleeId":"dev-1","command":"CERT_PROV","certProvProtocolID":"EST",
             "URI":"https://127.0.0.1:8443/.well-known/est","certSubjectType":3,"certSubjectID":"%s"}""".formatted(AE_ID);

    record Answer(int status, String contentType, String body, String retryAfter) {
    }

    FakeMef() throws Exception {
        ca = TestPki.ca("MEF Test CA");
        bootstrapCa = TestPki.ca("Bootstrap CA");
        var serverKeys = Csr.generateKeyPair();
        tlsServer = ca.issue(serverKeys.getPublic(), "localhost", new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}),
                KeyUsage.digitalSignature, KeyPurposeId.id_kp_serverAuth);
        KeyStore serverStore = KeyStore.getInstance("PKCS12");
        serverStore.load(null, null);
        serverStore.setKeyEntry("tls", serverKeys.getPrivate(), "x".toCharArray(), new X509Certificate[] {tlsServer, ca.certificate});
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(serverStore, "x".toCharArray());
        KeyStore clients = KeyStore.getInstance("PKCS12");
        clients.load(null, null);
        clients.setCertificateEntry("bootstrap-ca", bootstrapCa.certificate);
        // Re-enrolment authenticates with a certificate this MEF's CA issued.
        clients.setCertificateEntry("mef-ca", ca.certificate);
        TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
        trust.init(clients);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);

        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context) {
            @Override
            public void configure(HttpsParameters parameters) {
                SSLParameters ssl = context.getDefaultSSLParameters();
                ssl.setNeedClientAuth(true);
                parameters.setSSLParameters(ssl);
            }
        });
        server.createContext("/", this::handle);
        server.start();
    }

    URI url() {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort());
    }

    /** A bootstrap credential issued by the bootstrap CA the fake MEF trusts for TLS clients. */
    KeyStore bootstrapCredential(char[] password) throws Exception {
        var keys = Csr.generateKeyPair();
        X509Certificate certificate = bootstrapCa.issue(keys.getPublic(), "dev-1",
                CertSubjectType.NODE_ID.subjectAltName("urn:dev:1"), KeyUsage.digitalSignature, KeyPurposeId.id_kp_clientAuth);
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("bootstrap", keys.getPrivate(), password, new X509Certificate[] {certificate, bootstrapCa.certificate});
        return store;
    }

    private void handle(HttpExchange exchange) throws IOException {
        Answer answer;
        try {
            client = (X509Certificate) ((HttpsExchange) exchange).getSSLSession().getPeerCertificates()[0];
            answer = switch (exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()) {
                case "GET /mef/command" -> new Answer(200, "application/json", command, null);
                case "GET /.well-known/est/cacerts" ->
                        new Answer(200, "application/pkcs7-mime", certsOnly(List.of(ca.certificate)), null);
                case "GET /.well-known/est/csrattrs" -> {
                    csrattrsCalls.incrementAndGet();
                    yield new Answer(200, "application/csrattrs", Base64.getMimeEncoder().encodeToString(
                            CsrAttributesTest.mefCsrAttrs(new DERPrintableString(CHALLENGE),
                                    CertSubjectType.AE_ID.subjectAltName(AE_ID), KeyPurposeId.id_kp_clientAuth)), null);
                }
                case "POST /.well-known/est/simpleenroll" -> {
                    byte[] csr = EstClient.decodeBase64(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.US_ASCII));
                    enrolCsrs.add(csr);
                    yield simpleEnroll.apply(csr);
                }
                case "POST /.well-known/est/simplereenroll" -> {
                    byte[] csr = EstClient.decodeBase64(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.US_ASCII));
                    reenrolCsrs.add(csr);
                    reenrolClients.add(client);
                    yield simpleReenroll.apply(csr);
                }
                default -> new Answer(404, "text/plain", "no such resource", null);
            };
        } catch (Exception e) {
            answer = new Answer(500, "text/plain", e.toString(), null);
        }
        byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", answer.contentType());
        if (answer.retryAfter() != null) {
            exchange.getResponseHeaders().set("Retry-After", answer.retryAfter());
        }
        exchange.sendResponseHeaders(answer.status(), body.length == 0 ? -1 : body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    /** The happy path: issue what the CSR asks for, if the challenge is right. */
    private Answer issue(byte[] csrDer) {
        try {
            var csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest(csrDer);
            var challenge = csr.getAttributes(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_challengePassword)[0]
                    .getAttrValues().getObjectAt(0).toString();
            if (!CHALLENGE.equals(challenge)) {
                return new Answer(403, "text/plain", "challengePassword does not match", null);
            }
            X509Certificate issued = ca.issue(csr.getPublicKey(), AE_ID, CertSubjectType.AE_ID.subjectAltName(AE_ID),
                    KeyUsage.digitalSignature, KeyPurposeId.id_kp_clientAuth);
            return new Answer(200, "application/pkcs7-mime; smime-type=certs-only",
                    certsOnly(List.of(issued, ca.certificate)), null);
        } catch (Exception e) {
            return new Answer(500, "text/plain", e.toString(), null);
        }
    }

    /**
     * RFC 7030 4.2.2 as the gateway checks it: the TLS client certificate was issued by this MEF's CA,
     * the CSR's subject and subjectAltName are identical to it (DER), the challenge is right; issues
     * a certificate for the CSR's key with the same names.
     */
    private Answer reissue(byte[] csrDer) {
        try {
            X509Certificate current = client;
            try {
                current.verify(ca.certificate.getPublicKey());
            } catch (java.security.GeneralSecurityException e) {
                return new Answer(403, "text/plain", "re-enrolment needs a certificate issued by this MEF", null);
            }
            var csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest(csrDer);
            var currentSan = new org.bouncycastle.cert.jcajce.JcaX509CertificateHolder(current)
                    .getExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName);
            var requestedSan = csr.getRequestedExtensions().getExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName);
            if (!java.util.Arrays.equals(csr.getSubject().getEncoded(), current.getSubjectX500Principal().getEncoded())
                    || requestedSan == null || !requestedSan.getExtnValue().equals(currentSan.getExtnValue())) {
                return new Answer(400, "text/plain", "subject and subjectAltName must be identical to the current certificate's", null);
            }
            var challenge = csr.getAttributes(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_challengePassword)[0]
                    .getAttrValues().getObjectAt(0).toString();
            if (!CHALLENGE.equals(challenge)) {
                return new Answer(403, "text/plain", "challengePassword does not match", null);
            }
            java.time.Instant now = java.time.Instant.now();
            X509Certificate issued = ca.issue(csr.getSubject(), csr.getPublicKey(),
                    GeneralNames.getInstance(requestedSan.getParsedValue()), now.minusSeconds(60), now.plus(java.time.Duration.ofDays(30)),
                    KeyUsage.digitalSignature, KeyPurposeId.id_kp_clientAuth);
            return new Answer(200, "application/pkcs7-mime; smime-type=certs-only", certsOnly(List.of(issued, ca.certificate)), null);
        } catch (Exception e) {
            return new Answer(500, "text/plain", e.toString(), null);
        }
    }

    /** Answers the first requests with {@code first}, one each, then behaves like {@code then}. */
    static Function<byte[], Answer> first(List<Answer> first, Function<byte[], Answer> then) {
        AtomicInteger calls = new AtomicInteger();
        return csr -> {
            int n = calls.getAndIncrement();
            return n < first.size() ? first.get(n) : then.apply(csr);
        };
    }

    /** The default /simpleenroll behaviour, for {@link #first}. */
    Answer issueFor(byte[] csr) {
        return issue(csr);
    }

    /** The default /simplereenroll behaviour, for {@link #first}. */
    Answer reissueFor(byte[] csr) {
        return reissue(csr);
    }

    static String certsOnly(List<X509Certificate> certificates) throws Exception {
        CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
        generator.addCertificates(new JcaCertStore(certificates));
        return Base64.getMimeEncoder().encodeToString(generator.generate(new CMSAbsentContent()).getEncoded("DER")) + "\r\n";
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
