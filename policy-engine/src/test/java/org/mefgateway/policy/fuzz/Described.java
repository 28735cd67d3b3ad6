package org.mefgateway.policy.fuzz;

import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.Decision;

/**
 * Facts and decisions written out field by field, so that the fuzz targets can compare two of
 * them with assertEquals: the records hold byte arrays, whose equals is identity, and their
 * toString prints {@code [B@...}. Every field is written; a field added to a record and not here
 * would go uncompared, so keep this in step with CsrFacts and CertificateTemplate.
 */
final class Described {
    private static final HexFormat HEX = HexFormat.of();

    private Described() {
    }

    static String facts(CsrFacts f) {
        return String.join("\n",
                "subjectPublicKeyInfo=" + HEX.formatHex(f.subjectPublicKeyInfo()),
                "keyAlgorithm=" + f.keyAlgorithm(),
                "ecCurve=" + f.ecCurve(),
                "keySizeBits=" + f.keySizeBits(),
                "signatureAlgorithmOid=" + f.signatureAlgorithmOid(),
                "signatureValid=" + f.signatureValid(),
                "subject=" + f.subject(),
                "subjectAltNames=" + f.subjectAltNames(),
                "requestedEkus=" + f.requestedEkus(),
                "requestedExtensions=" + extensions(f.requestedExtensions()),
                "requestsCa=" + f.requestsCa(),
                "challengePassword=" + f.challengePassword());
    }

    static String decision(Decision d) {
        if (d instanceof Decision.Deny deny) {
            return "Deny profile=" + deny.profile() + " rule=" + deny.ruleId()
                    + " reason=" + deny.reason();
        }
        Decision.Issue issue = (Decision.Issue) d;
        CertificateTemplate t = issue.template();
        return String.join("\n",
                "Issue profile=" + issue.profile(),
                "subject=" + t.subject(),
                "subjectAltNames=" + t.subjectAltNames(),
                "extendedKeyUsages=" + t.extendedKeyUsages(),
                "keyUsageDigitalSignature=" + t.keyUsageDigitalSignature(),
                "notBefore=" + t.notBefore(),
                "notAfter=" + t.notAfter(),
                "subjectPublicKeyInfo=" + HEX.formatHex(t.subjectPublicKeyInfo()),
                "copiedExtensions=" + extensions(t.copiedExtensions()),
                "crlDistributionPoints=" + t.crlDistributionPoints(),
                "ocspUrls=" + t.ocspUrls(),
                "caIssuersUrls=" + t.caIssuersUrls());
    }

    private static String extensions(List<CsrFacts.RequestedExtension> extensions) {
        return extensions.stream().map(e -> e.oid() + (e.critical() ? " critical " : " ") + HEX.formatHex(e.value()))
                .collect(Collectors.joining(", ", "[", "]"));
    }
}
