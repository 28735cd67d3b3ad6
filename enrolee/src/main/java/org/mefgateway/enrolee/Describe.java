package org.mefgateway.enrolee;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;

/** One-line, human-readable renderings of certificate contents for step lines and {@code show}. */
final class Describe {
    private Describe() {
    }

    static String generalNames(GeneralNames names) {
        if (names == null) {
            return "none";
        }
        return Stream.of(names.getNames()).map(Describe::generalName).collect(Collectors.joining(", "));
    }

    static String generalName(GeneralName name) {
        String kind = switch (name.getTagNo()) {
            case GeneralName.uniformResourceIdentifier -> "URI";
            case GeneralName.dNSName -> "DNS";
            case GeneralName.iPAddress -> "IP";
            case GeneralName.rfc822Name -> "email";
            case GeneralName.directoryName -> "dirName";
            default -> "tag" + name.getTagNo();
        };
        return kind + ":" + name.getName();
    }

    static String keyPurposes(List<KeyPurposeId> purposes) {
        return purposes.isEmpty() ? "none"
                : purposes.stream().map(p -> p.toOID().getId()).collect(Collectors.joining(", "));
    }

    static String oids(List<String> oids) {
        return oids == null || oids.isEmpty() ? "none" : String.join(", ", oids);
    }

    static String subjects(List<X509Certificate> certificates) {
        return certificates.stream().map(c -> c.getSubjectX500Principal().getName())
                .collect(Collectors.joining("; "));
    }
}
