package org.mefgateway.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertPathValidator;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.internal.tcnative.CertificateVerifier;
import io.vertx.core.http.HttpServerRequest;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** Key and trust material for the gateway's TLS listeners and for the admin client. */
public final class TlsMaterial {
    private TlsMaterial() {
    }

    public static KeyStore loadPkcs12(Path file, char[] password) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, password);
        }
        return ks;
    }

    public static KeyManagerFactory keyManagers(Path pkcs12, Path passwordFile) throws IOException, GeneralSecurityException {
        char[] password = PrivateFiles.readPassword(passwordFile);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(loadPkcs12(pkcs12, password), password);
        return kmf;
    }

    /** A PKIX trust manager that trusts exactly these anchors (and not the JDK's cacerts). */
    /**
     * The trust a TLS server puts in client certificates: a PKIX path to one of {@code anchors},
     * every certificate within its validity, and nothing about extended key usage. The JDK's own
     * trust manager requires id-kp-clientAuth in a client certificate that has an EKU extension;
     * oneM2M certificates carry the EKUs of their SUIDs instead (TS-0003 10.1), and a certificate
     * being renewed must still authenticate its owner (RFC 7030 4.2.2). What the certificate may
     * do is decided after the handshake, by the registration it matches. {@code boringSsl}: the
     * listener runs on BoringSSL, which needs the refusal named to send the right alert.
     */
    public static X509TrustManager clientCertificateTrust(List<X509Certificate> anchors, boolean boringSsl) {
        Set<TrustAnchor> trustAnchors = new HashSet<>();
        anchors.forEach(a -> trustAnchors.add(new TrustAnchor(a, null)));
        X509Certificate[] issuers = anchors.toArray(X509Certificate[]::new);
        Set<X509Certificate> pinned = Set.copyOf(anchors);
        return new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                if (chain == null || chain.length == 0) {
                    throw new CertificateException("no client certificate");
                }
                List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain));
                if (pinned.contains(path.get(0))) {
                    return;
                }
                // A client may send the anchor along; a PKIX path ends below it.
                while (path.size() > 1 && pinned.contains(path.get(path.size() - 1))) {
                    path.remove(path.size() - 1);
                }
                try {
                    PKIXParameters params = new PKIXParameters(trustAnchors);
                    // Revocation of bootstrap certificates is the device makers' business; ours is checked against the ledger.
                    params.setRevocationEnabled(false);
                    CertPathValidator.getInstance("PKIX").validate(
                            CertificateFactory.getInstance("X.509").generateCertPath(path), params);
                } catch (GeneralSecurityException e) {
                    throw untrusted("client certificate not trusted: " + e.getMessage(), e, boringSsl);
                }
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                throw new CertificateException("this trust manager only authenticates TLS clients");
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return issuers.clone();
            }
        };
    }

    /**
     * The refusal of a client certificate with no path to an anchor. JSSE answers any
     * CertificateException with the alert certificate_unknown; BoringSSL (netty's OpenSSL engine)
     * answers internal_error unless the exception names an X.509 verification error, and a device
     * told "internal error" looks for a fault in the MEF rather than in its certificate. Named
     * X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, BoringSSL sends unknown_ca (RFC 8446 6.2: the
     * CA could not be located or matched). Only on BoringSSL: the error's value comes from the
     * native library, which the JSSE fallback may not have loaded.
     */
    private static CertificateException untrusted(String message, Throwable cause, boolean boringSsl) {
        CertificateException e = boringSsl
                ? new OpenSslCertificateException(message, CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
                : new CertificateException(message);
        e.initCause(cause);
        return e;
    }

    public static TrustManagerFactory trustManagers(List<X509Certificate> anchors) throws GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try {
            ks.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        int i = 0;
        for (X509Certificate anchor : anchors) {
            ks.setCertificateEntry("anchor-" + i++, anchor);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        return tmf;
    }

    /** Every certificate of every *.pem / *.crt file in a directory (none if it does not exist). */
    public static List<X509Certificate> certificatesIn(Path dir) throws IOException {
        List<X509Certificate> certs = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return certs;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".pem") || name.endsWith(".crt")) {
                    certs.addAll(Pem.read(f));
                }
            }
        }
        return certs;
    }

    /** SHA-256 of the DER certificate, lower-case hex: how the MEF names a TLS client identity. */
    public static String fingerprint(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    /** The verified TLS client certificate of the connection, if the client presented one. */
    public static Optional<X509Certificate> clientCertificate(HttpServerRequest request) {
        if (!request.isSSL()) {
            return Optional.empty();
        }
        try {
            List<Certificate> chain = request.connection().peerCertificates();
            return chain == null || chain.isEmpty() ? Optional.empty() : Optional.of((X509Certificate) chain.get(0));
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
