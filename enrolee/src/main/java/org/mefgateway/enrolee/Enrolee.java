package org.mefgateway.enrolee;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * The Enrolee (MEF Client) side of the oneM2M certificate enrolment procedure (TS-0003 8.3.3.1 /
 * 8.3.6), steps pre and 1 to 13, over EST. Usable as a library:
 * <pre>{@code
 * Optional<EnrolmentResult> result = new Enrolee(options).enrol((n, text) -> log(n, text));
 * }</pre>
 * Nothing is written unless every check of step 13 passed.
 */
public final class Enrolee {
    /**
     * Key and signature algorithms a MEF might require in csrattrs that this Enrolee does not make:
     * it follows the oneM2M profile (TS-0003 10.1), EC P-256 with ecdsa-with-SHA256, only.
     */
    private static final Set<ASN1ObjectIdentifier> UNSUPPORTED_ALGORITHMS = Set.of(
            X9ObjectIdentifiers.ecdsa_with_SHA1, X9ObjectIdentifiers.ecdsa_with_SHA224,
            X9ObjectIdentifiers.ecdsa_with_SHA384, X9ObjectIdentifiers.ecdsa_with_SHA512,
            PKCSObjectIdentifiers.rsaEncryption, PKCSObjectIdentifiers.sha256WithRSAEncryption,
            PKCSObjectIdentifiers.sha384WithRSAEncryption, PKCSObjectIdentifiers.sha512WithRSAEncryption,
            PKCSObjectIdentifiers.id_RSASSA_PSS, EdECObjectIdentifiers.id_Ed25519, EdECObjectIdentifiers.id_Ed448);

    private static final String OPERATION = "/simpleenroll";

    private final EnroleeOptions options;
    private final EstClient bootstrapClient;
    private final Path pendingFile;
    private final PendingRequest pending;
    private Waiting waiting = Waiting.SYSTEM;

    /**
     * Also reads the pending request of an earlier run ({@code <out>.pending}, see
     * {@link PendingRequest}) if there is one: {@link #enrol(StepListener)} then resumes it.
     *
     * @throws IllegalArgumentException if the options cannot work (URL, label, bootstrap credential),
     *                                  or the pending request file cannot be read or is for another MEF
     */
    public Enrolee(EnroleeOptions options) {
        this.options = options;
        this.bootstrapClient = new EstClient(options.mef(), options.label(), options.bootstrap(),
                options.bootstrapPassword(), options.mefTrustAnchors());
        this.pendingFile = PendingRequest.fileFor(options.out());
        this.pending = readPending(pendingFile, options.outPassword(), OPERATION, bootstrapClient.estBase().toString());
    }

    /** Uses another clock and sleep (tests). */
    Enrolee waiting(Waiting waiting) {
        this.waiting = waiting;
        return this;
    }

    /** Whether {@link #enrol(StepListener)} will resume a pending request rather than start a new one. */
    public boolean resumes() {
        return pending != null;
    }

    static PendingRequest readPending(Path file, char[] password, String operation, String est) {
        if (!Files.exists(file)) {
            return null;
        }
        PendingRequest pending;
        try {
            pending = PendingRequest.read(file, password);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (!pending.operation().equals(operation) || !pending.est().equals(est)) {
            throw new IllegalArgumentException(file + " holds a pending " + pending.operation() + " to " + pending.est()
                    + ", not " + operation + " to " + est + "; finish it with the matching command or remove the file");
        }
        return pending;
    }

    /**
     * Carries out the pending MEF Client Command.
     *
     * @param steps receives one line per step
     * @return the installed credential, or empty if the MEF had no command ({@code NO_MORE_COMMANDS})
     * @throws EnrolmentException if the MEF refused, failed, deferred, or returned something that did
     *                            not pass the checks; nothing is written then
     * @throws IOException        if the verified credential could not be written to {@link EnroleeOptions#out()}
     */
    public Optional<EnrolmentResult> enrol(StepListener steps) throws EnrolmentException, IOException {
        MefCommand command = bootstrapClient.command();
        if (command.command() == MefCommand.Kind.NO_MORE_COMMANDS) {
            steps.step(StepListener.PRE, "MEF has no command for " + command.enroleeId() + " (NO_MORE_COMMANDS): nothing to do");
            return Optional.empty();
        }
        if (!"EST".equals(command.certProvProtocolID())) {
            throw new EnrolmentException(Failure.VERIFICATION, "MEF instructs certificate provisioning over \""
                    + command.certProvProtocolID() + "\"; this Enrolee speaks EST only");
        }
        steps.step(StepListener.PRE, "MEF instructs " + command.enroleeId() + ": CERT_PROV over EST ("
                + command.uri() + ") for " + command.certSubjectType().label() + " " + command.certSubjectID());

        steps.step(1, "requesting trust anchors from " + bootstrapClient.estBase() + "/cacerts");
        List<X509Certificate> caCertificates = bootstrapClient.cacerts();
        steps.step(2, "MEF returned " + caCertificates.size() + " CA certificate(s): " + Describe.subjects(caCertificates));
        List<X509Certificate> anchors = Verifier.trustAnchors(caCertificates);
        // From here on only the installed anchors authenticate the MEF (TS-0003 8.3.6.2.1).
        EstClient est = bootstrapClient.withTrustAnchors(anchors);
        steps.step(3, "installed " + anchors.size() + " trust anchor(s) as the explicit trust anchor database"
                + " (accepted because the TLS server was authenticated with the explicit trust anchor, RFC 7030 4.1.3);"
                + " only these are trusted from now on");

        KeyPair keyPair;
        byte[] csr;
        GeneralNames identity;
        if (pending != null) {
            keyPair = pending.keyPair();
            csr = pending.csr();
            identity = pending.requestedSubjectAltName();
            steps.step(4, "resuming the pending request of " + pending.created() + " from " + pendingFile
                    + ": no new CSR attributes are requested (the challenge in the pending CSR is still in use)");
            steps.step(5, "pending CSR requests SAN " + Describe.generalNames(identity));
            steps.step(6, "using the EC P-256 key pair kept with the pending request");
        } else {
            steps.step(4, "requesting CSR attributes from " + est.estBase() + "/csrattrs");
            CsrAttributes attributes = est.csrattrs().orElseThrow(() -> new EnrolmentException(Failure.VERIFICATION,
                    "MEF returned no CSR attributes (204); this MEF must hand out a challengePassword for the CSR"));
            checkSupported(attributes);
            Extension subjectAltName = attributes.subjectAltName() != null ? attributes.subjectAltName()
                    : sanExtension(command.certSubjectType().subjectAltName(command.certSubjectID()));
            identity = GeneralNames.getInstance(subjectAltName.getParsedValue());
            steps.step(5, "MEF returned challengePassword (" + attributes.challengePassword().length() + " chars), SAN "
                    + Describe.generalNames(identity)
                    + (attributes.subjectAltName() == null ? " (from the command: csrattrs had none)" : "")
                    + ", EKUs " + Describe.keyPurposes(attributes.extendedKeyUsages()));

            keyPair = Csr.generateKeyPair();
            steps.step(6, "generated an EC P-256 key pair");
            csr = Csr.build(keyPair, command.certSubjectID(), attributes.challengePassword(),
                    subjectAltName, attributes.extendedKeyUsage());
            // Kept before sending: if the MEF defers issuance or the answer is lost, a later run repeats
            // this very request instead of wasting the single-use challenge.
            new PendingRequest(OPERATION, est.estBase().toString(), null, waiting.now(), keyPair, csr)
                    .write(pendingFile, options.outPassword());
        }
        steps.step(7, "sending the CSR (" + Csr.SIGNATURE_ALGORITHM + ") to " + est.estBase() + OPERATION);
        List<X509Certificate> returned = Issuance.request(est, OPERATION, csr, options.waitBudget(), waiting, steps, pendingFile);
        try {
            return Optional.of(install(command, returned, anchors, keyPair, identity, steps));
        } catch (EnrolmentException e) {
            // The MEF gave its final answer; repeating the request would not change it.
            Issuance.discard(pendingFile);
            throw e;
        }
    }

    private EnrolmentResult install(MefCommand command, List<X509Certificate> returned, List<X509Certificate> anchors,
                                    KeyPair keyPair, GeneralNames identity, StepListener steps)
            throws EnrolmentException, IOException {
        X509Certificate issued = Verifier.issuedCertificate(returned);

        steps.step(8, "MEF validated challenge, identifier and EKUs");
        steps.step(9, "MEF forwarded the request to the CA");
        steps.step(10, "CA issued serial " + issued.getSerialNumber().toString(16));
        steps.step(11, "CA handed the certificate to the MEF (recorded in its ledger)");
        steps.step(12, "MEF returned the certificate: subject " + issued.getSubjectX500Principal().getName()
                + ", SAN " + Describe.generalNames(Verifier.subjectAltNames(issued))
                + ", EKUs " + Describe.oids(extendedKeyUsage(issued))
                + ", issuer " + issued.getIssuerX500Principal().getName()
                + ", notAfter " + issued.getNotAfter().toInstant());

        List<X509Certificate> chain = Verifier.verifyIssued(issued, returned, anchors, keyPair.getPublic(), identity);
        Credentials credentials = new Credentials(keyPair.getPrivate(), chain, anchors);
        credentials.write(options.out(), options.outPassword());
        Issuance.discard(pendingFile);
        steps.step(13, "verified (PKIX path to the installed anchors, our public key, SAN, digitalSignature);"
                + " installed key + certificate into " + options.out());
        return new EnrolmentResult(command, credentials, options.out());
    }

    static void checkSupported(CsrAttributes attributes) throws EnrolmentException {
        if (attributes.challengePassword() == null) {
            throw new EnrolmentException(Failure.VERIFICATION,
                    "MEF's CSR attributes carry no challengePassword value; this MEF must hand out a challenge for the CSR");
        }
        if (attributes.ecCurve() != null && !attributes.ecCurve().equals(SECObjectIdentifiers.secp256r1)) {
            throw new EnrolmentException(Failure.VERIFICATION, "MEF requires EC curve " + attributes.ecCurve().getId()
                    + "; this Enrolee makes P-256 (secp256r1) keys only");
        }
        for (ASN1ObjectIdentifier oid : attributes.oids()) {
            if (UNSUPPORTED_ALGORITHMS.contains(oid)) {
                throw new EnrolmentException(Failure.VERIFICATION, "MEF requires algorithm " + oid.getId()
                        + "; this Enrolee makes EC P-256 keys signed with ecdsa-with-SHA256 only");
            }
        }
    }

    private static Extension sanExtension(GeneralNames names) {
        try {
            return Extension.create(Extension.subjectAlternativeName, false, names);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode subjectAltName", e);
        }
    }

    static List<String> extendedKeyUsage(X509Certificate certificate) throws EnrolmentException {
        try {
            return certificate.getExtendedKeyUsage();
        } catch (java.security.cert.CertificateParsingException e) {
            throw new EnrolmentException(Failure.VERIFICATION, "the issued certificate's extendedKeyUsage is malformed: "
                    + e.getMessage());
        }
    }
}
