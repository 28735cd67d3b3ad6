package org.mefgateway.enrolee;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;

/**
 * The checks the Enrolee makes on what the MEF returned, before it trusts or installs anything.
 * Every failure is {@link Failure#VERIFICATION} with a message naming the check that failed.
 */
public final class Verifier {
    private Verifier() {
    }

    /**
     * Step 3: accepts the /cacerts answer as the explicit trust anchor database.
     *
     * <p>RFC 7030 4.1.3: the answer may be installed as trust anchors because the TLS server was
     * authenticated with the explicit trust anchor the Enrolee was given. What is checked here is
     * that the answer is a CA hierarchy: every certificate is a CA certificate and is either
     * self-signed or signed by another returned certificate that is itself accepted (which also
     * covers RFC 7030 4.1.3 root key rollover certificates).
     *
     * @return the certificates to install as trust anchors, in the order received
     */
    public static List<X509Certificate> trustAnchors(List<X509Certificate> caCertificates) throws EnrolmentException {
        if (caCertificates.isEmpty()) {
            throw failed("the MEF returned no CA certificate");
        }
        for (X509Certificate certificate : caCertificates) {
            if (certificate.getBasicConstraints() < 0) {
                throw failed("returned CA certificate " + subject(certificate) + " is not a CA certificate (basicConstraints cA)");
            }
        }
        Set<X509Certificate> accepted = new HashSet<>();
        for (X509Certificate certificate : caCertificates) {
            if (signedBy(certificate, certificate)) {
                accepted.add(certificate);
            }
        }
        boolean grew = !accepted.isEmpty();
        while (grew) {
            grew = false;
            for (X509Certificate certificate : caCertificates) {
                if (!accepted.contains(certificate) && accepted.stream().anyMatch(issuer -> signedBy(certificate, issuer))) {
                    accepted.add(certificate);
                    grew = true;
                }
            }
        }
        for (X509Certificate certificate : caCertificates) {
            if (!accepted.contains(certificate)) {
                throw failed("returned CA certificate " + subject(certificate)
                        + " is neither self-signed nor signed by another returned CA certificate");
            }
        }
        return List.copyOf(caCertificates);
    }

    /**
     * Picks the issued certificate out of a /simpleenroll answer, which may also carry CA
     * certificates: it is the one end-entity (non-CA) certificate.
     */
    public static X509Certificate issuedCertificate(List<X509Certificate> returned) throws EnrolmentException {
        List<X509Certificate> endEntities = returned.stream().filter(c -> c.getBasicConstraints() < 0).toList();
        if (endEntities.size() != 1) {
            throw failed("the MEF returned " + endEntities.size() + " end-entity certificates, expected exactly one");
        }
        return endEntities.get(0);
    }

    /**
     * Step 13: checks the issued certificate before it is installed.
     * <ul>
     *   <li>PKIX path validation (revocation not checked: the Enrolee has no revocation source yet)
     *       from the issued certificate through any returned intermediate CA to the installed anchors;</li>
     *   <li>its public key is the one the Enrolee generated (the CA certified our key, not another);</li>
     *   <li>its subjectAltName contains every requested identifier (TS-0003 10.1: the identity lives
     *       in the SAN; the MEF may add identifiers, DESIGN step 9, but may not drop or change one);</li>
     *   <li>keyUsage includes digitalSignature (TS-0003 10.1).</li>
     * </ul>
     *
     * @param issued       the certificate picked by {@link #issuedCertificate(List)}
     * @param returned     everything the MEF returned with it (CA certificates are used as intermediates)
     * @param anchors      the installed trust anchors
     * @param generatedKey the public key the Enrolee put into the CSR
     * @param requested    the subjectAltName the Enrolee requested
     * @return the chain to install: issued certificate, intermediates, trust anchor
     */
    public static List<X509Certificate> verifyIssued(X509Certificate issued, List<X509Certificate> returned,
                                                     List<X509Certificate> anchors, PublicKey generatedKey,
                                                     GeneralNames requested) throws EnrolmentException {
        List<X509Certificate> path = pathToAnchors(issued, returned, anchors);
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            CertPath certPath = factory.generateCertPath(path);
            PKIXParameters parameters = new PKIXParameters(
                    anchors.stream().map(a -> new TrustAnchor(a, null)).collect(Collectors.toSet()));
            parameters.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(certPath, parameters);
        } catch (CertPathValidatorException e) {
            throw failed("the issued certificate does not validate to the installed trust anchors: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw failed("cannot run PKIX validation: " + e.getMessage());
        }
        if (!Arrays.equals(issued.getPublicKey().getEncoded(), generatedKey.getEncoded())) {
            throw failed("the issued certificate is for a different public key than the one generated for the CSR");
        }
        GeneralNames certified = subjectAltNames(issued);
        Set<GeneralName> certifiedNames = certified == null ? Set.of() : Set.of(certified.getNames());
        for (GeneralName name : requested.getNames()) {
            if (!certifiedNames.contains(name)) {
                throw failed("the issued certificate's subjectAltName (" + Describe.generalNames(certified)
                        + ") lacks the requested " + Describe.generalName(name));
            }
        }
        boolean[] keyUsage = issued.getKeyUsage();
        if (keyUsage == null || !keyUsage[0]) {
            throw failed("the issued certificate's keyUsage lacks digitalSignature");
        }
        List<X509Certificate> chain = new ArrayList<>(path);
        chain.add(anchorOf(path.get(path.size() - 1), anchors));
        return List.copyOf(chain);
    }

    /** The subjectAltName of a certificate, or null if it has none. */
    public static GeneralNames subjectAltNames(X509Certificate certificate) throws EnrolmentException {
        try {
            return GeneralNames.fromExtensions(new JcaX509CertificateHolder(certificate).getExtensions(),
                    Extension.subjectAlternativeName);
        } catch (CertificateEncodingException | IllegalArgumentException e) {
            throw failed("cannot read the subjectAltName of " + subject(certificate) + ": " + e.getMessage());
        }
    }

    /**
     * Orders the path for CertPathValidator: the issued certificate, then returned CA certificates
     * by issuer name, stopping at the first one issued by an installed anchor.
     */
    private static List<X509Certificate> pathToAnchors(X509Certificate issued, List<X509Certificate> returned,
                                                       List<X509Certificate> anchors) throws EnrolmentException {
        List<X509Certificate> path = new ArrayList<>(List.of(issued));
        X509Certificate last = issued;
        while (!issuedByAnAnchor(last, anchors)) {
            X509Certificate current = last;
            X509Certificate next = returned.stream()
                    .filter(c -> !path.contains(c) && c.getBasicConstraints() >= 0
                            && c.getSubjectX500Principal().equals(current.getIssuerX500Principal()))
                    .findFirst()
                    .orElseThrow(() -> failed("the issued certificate does not chain to the installed trust anchors: no CA named "
                            + current.getIssuerX500Principal().getName() + " among them"));
            path.add(next);
            last = next;
        }
        return path;
    }

    private static boolean issuedByAnAnchor(X509Certificate certificate, List<X509Certificate> anchors) {
        return anchors.stream().anyMatch(a -> a.getSubjectX500Principal().equals(certificate.getIssuerX500Principal()));
    }

    private static X509Certificate anchorOf(X509Certificate certificate, List<X509Certificate> anchors) {
        return anchors.stream().filter(a -> signedBy(certificate, a)).findFirst()
                .orElseThrow(() -> new IllegalStateException("validated path has no anchor"));
    }

    private static boolean signedBy(X509Certificate certificate, X509Certificate issuer) {
        if (!certificate.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        try {
            certificate.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static String subject(X509Certificate certificate) {
        return "\"" + certificate.getSubjectX500Principal().getName() + "\"";
    }

    private static EnrolmentException failed(String message) {
        return new EnrolmentException(Failure.VERIFICATION, message);
    }
}
