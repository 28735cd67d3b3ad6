package org.mefgateway.enrolee;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
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
            answer = switch (exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()) {
                case "GET /mef/command" -> new Answer(200, "application/json", command, null);
                case "GET /.well-known/est/cacerts" ->
                        new Answer(200, "application/pkcs7-mime", certsOnly(List.of(ca.certificate)), null);
                case "GET /.well-known/est/csrattrs" -> new Answer(200, "application/csrattrs",
                        Base64.getMimeEncoder().encodeToString(CsrAttributesTest.mefCsrAttrs(new DERPrintableString(CHALLENGE),
                                CertSubjectType.AE_ID.subjectAltName(AE_ID), KeyPurposeId.id_kp_clientAuth)), null);
                case "POST /.well-known/est/simpleenroll" ->
                        simpleEnroll.apply(EstClient.decodeBase64(new String(exchange.getRequestBody().readAllBytes(),
                                StandardCharsets.US_ASCII)));
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
