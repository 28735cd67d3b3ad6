package org.mefgateway.it.ledger;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.cms.CMSSignedData;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.TestCsr;
import org.mefgateway.policy.Oids;

/** The EST calls of one device, against whichever node it is pointed at. */
final class Est {
    private Est() {
    }

    /** A device's HTTPS client: trusts the MEF CA, presents the bootstrap certificate. */
    static HttpClient client(DeviceMaker.Device device, X509Certificate caCertificate) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(device.keyStore(), DeviceMaker.Device.PASSWORD);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), TlsMaterial.trustManagers(List.of(caCertificate)).getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A renewing Enrolee's HTTPS client: trusts the MEF CA, presents the certificate it issued. */
    static HttpClient client(java.security.KeyPair keys, X509Certificate issued, X509Certificate caCertificate) throws Exception {
        char[] password = "renewing".toCharArray();
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("current", keys.getPrivate(), password, new java.security.cert.Certificate[] {issued});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), TlsMaterial.trustManagers(List.of(caCertificate)).getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
    }

    static String challenge(HttpClient client, URI csrattrs) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(csrattrs).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("csrattrs: " + r.statusCode() + " " + r.body());
        }
        return TestCsr.challengeFrom(r.body());
    }

    /** A CSR for an AE registered with SUID 40, as the policy expects it. */
    static String csr(String aeId, String challenge) throws Exception {
        return TestCsr.p256().subject("CN=" + aeId).challenge(challenge).uri(aeId).eku(Oids.SUID_EKU_ARC + ".40").base64();
    }

    static HttpResponse<String> simpleenroll(HttpClient client, URI simpleenroll, String csrBase64) throws Exception {
        return client.send(HttpRequest.newBuilder(simpleenroll).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/pkcs10").POST(HttpRequest.BodyPublishers.ofString(csrBase64)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The certificate in a certs-only response (base64 of DER CMS, RFC 8951). */
    static X509Certificate certificate(HttpResponse<String> response) throws Exception {
        CMSSignedData cms = new CMSSignedData(Base64.getMimeDecoder().decode(response.body()));
        byte[] der = cms.getCertificates().getMatches(null).iterator().next().getEncoded();
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new java.io.ByteArrayInputStream(der));
    }
}
