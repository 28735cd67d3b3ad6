package org.mefgateway.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

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
}
