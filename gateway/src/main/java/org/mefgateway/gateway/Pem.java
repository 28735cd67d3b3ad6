package org.mefgateway.gateway;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** PEM files of certificates: what operators exchange with device makers and Enrolees. */
public final class Pem {
    private Pem() {
    }

    public static String encode(X509Certificate... certs) {
        StringBuilder sb = new StringBuilder();
        Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
        for (X509Certificate cert : certs) {
            try {
                sb.append("-----BEGIN CERTIFICATE-----\n")
                        .append(b64.encodeToString(cert.getEncoded()))
                        .append("\n-----END CERTIFICATE-----\n");
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("certificate cannot be encoded", e);
            }
        }
        return sb.toString();
    }

    public static void write(Path file, X509Certificate... certs) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, encode(certs));
    }

    public static List<X509Certificate> read(Path file) throws IOException {
        return parse(Files.readString(file), file.toString());
    }

    /** Parses every certificate of a PEM text; {@code source} names it in errors. */
    public static List<X509Certificate> parse(String pem, String source) throws IOException {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> certs = new ArrayList<>();
            for (var c : cf.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
                certs.add((X509Certificate) c);
            }
            if (certs.isEmpty()) {
                throw new IOException(source + ": no certificate found");
            }
            return certs;
        } catch (CertificateException e) {
            throw new IOException(source + ": not a PEM certificate: " + e.getMessage());
        }
    }
}
