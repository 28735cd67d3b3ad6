package org.mefgateway.enrolee;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;

/**
 * Renews an installed credential over EST re-enrolment (RFC 7030 4.2.2), the Enrolee CLI's {@code renew}.
 *
 * <ul>
 *   <li>The MEF's TLS server is authenticated against the trust anchors stored in the PKCS#12
 *       ({@code anchor-N}) and nothing else: the explicit trust anchor database installed at enrolment
 *       (TS-0003 8.3.6.2.1); no JDK cacerts, no other file.</li>
 *   <li>The TLS client certificate is the current certificate (key entry {@code enrolee}).</li>
 *   <li>csrattrs is fetched again over that session for a fresh challengePassword and the EKUs
 *       (TS-0003 8.3.6.2.3 validates both again on re-enrolment).</li>
 *   <li>The CSR's subject and subjectAltName are the current certificate's, copied as DER; the key is
 *       new unless {@link RenewalOptions#sameKey()}.</li>
 *   <li>The answer is verified as at enrolment (path to the stored anchors, our key, SAN, keyUsage),
 *       then the PKCS#12 is replaced atomically, keeping the anchors; on any failure it is untouched.</li>
 * </ul>
 */
public final class Renewal {
    private static final String OPERATION = "/simplereenroll";

    private final RenewalOptions options;
    private final Credentials current;
    private final EstClient est;
    private final Path pendingFile;
    private final PendingRequest pending;
    private Waiting waiting = Waiting.SYSTEM;

    /**
     * Reads the installed credential and any pending re-enrolment of an earlier run.
     *
     * @throws IllegalArgumentException if the file cannot be read (missing, wrong password), holds no
     *                                  trust anchors, or the options or the pending file do not fit
     */
    public Renewal(RenewalOptions options) {
        this.options = options;
        try {
            this.current = Credentials.read(options.file(), options.password());
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (current.trustAnchors().isEmpty()) {
            throw new IllegalArgumentException(options.file() + " holds no trust anchors (anchor-N entries) to"
                    + " authenticate the MEF with; enrol again");
        }
        this.est = new EstClient(options.mef(), options.label(), current.clientKeyStore(options.password()),
                options.password(), current.trustAnchors());
        this.pendingFile = PendingRequest.fileFor(options.file());
        this.pending = Enrolee.readPending(pendingFile, options.password(), OPERATION, est.estBase().toString());
        String serial = current.certificate().getSerialNumber().toString(16);
        if (pending != null && !serial.equals(pending.renewsSerial())) {
            throw new IllegalArgumentException(pendingFile + " renews certificate serial " + pending.renewsSerial()
                    + ", but " + options.file() + " holds serial " + serial + "; remove " + pendingFile);
        }
    }

    /** Uses another clock and sleep (tests). */
    Renewal waiting(Waiting waiting) {
        this.waiting = waiting;
        return this;
    }

    /**
     * Renews if due (or forced, or a renewal is pending).
     *
     * @return the new credential, already installed in {@link RenewalOptions#file()}
     * @throws EnrolmentException {@link Failure#NOT_DUE} if not inside the window (nothing sent);
     *                            {@link Failure#REFUSED} if the certificate has expired (nothing sent);
     *                            otherwise as for enrolment
     * @throws IOException        if the verified credential could not be written (the old file is untouched)
     */
    public Credentials renew(StepListener steps) throws EnrolmentException, IOException {
        X509Certificate certificate = current.certificate();
        String serial = certificate.getSerialNumber().toString(16);
        Instant now = waiting.now();
        Instant notAfter = certificate.getNotAfter().toInstant();
        Instant windowOpens = notAfter.minus(options.window());
        if (!now.isBefore(notAfter)) {
            throw new EnrolmentException(Failure.REFUSED, "the certificate in " + options.file() + " (serial " + serial
                    + ") expired " + notAfter + "; an expired certificate cannot authenticate a re-enrolment:"
                    + " enrol again with the bootstrap credential (enrolee enrol ... --out NEW.p12)");
        }
        if (pending == null && !options.force() && now.isBefore(windowOpens)) {
            throw new EnrolmentException(Failure.NOT_DUE, "not due: expires " + notAfter
                    + ", renewal window opens " + windowOpens);
        }
        GeneralNames identity = Verifier.subjectAltNames(certificate);
        if (identity == null) {
            throw new EnrolmentException(Failure.VERIFICATION, "the certificate in " + options.file()
                    + " has no subjectAltName; re-enrolment must request the same identity");
        }
        List<X509Certificate> anchors = current.trustAnchors();
        steps.step(StepListener.PRE, "renewing serial " + serial + " (" + Describe.generalNames(identity) + "), expires "
                + notAfter + (pending != null ? "; a renewal is pending"
                : now.isBefore(windowOpens) ? "; forced before the window opens " + windowOpens
                : "; inside the renewal window since " + windowOpens));
        steps.step(3, "trusting only the " + anchors.size() + " trust anchor(s) stored in " + options.file() + ": "
                + Describe.subjects(anchors) + "; TLS client certificate: the current one");

        KeyPair keyPair;
        byte[] csr;
        if (pending != null) {
            keyPair = pending.keyPair();
            csr = pending.csr();
            steps.step(4, "resuming the pending request of " + pending.created() + " from " + pendingFile
                    + ": no new CSR attributes are requested (the challenge in the pending CSR is still in use)");
        } else {
            steps.step(4, "requesting CSR attributes from " + est.estBase() + "/csrattrs");
            CsrAttributes attributes = est.csrattrs().orElseThrow(() -> new EnrolmentException(Failure.VERIFICATION,
                    "MEF returned no CSR attributes (204); this MEF must hand out a challengePassword for the CSR"));
            Enrolee.checkSupported(attributes);
            steps.step(5, "MEF returned challengePassword (" + attributes.challengePassword().length() + " chars), EKUs "
                    + Describe.keyPurposes(attributes.extendedKeyUsages())
                    + "; subject and SAN are copied from the current certificate");
            if (options.sameKey()) {
                keyPair = new KeyPair(certificate.getPublicKey(), current.privateKey());
                steps.step(6, "keeping the current key (--same-key)");
            } else {
                keyPair = Csr.generateKeyPair();
                steps.step(6, "generated a new EC P-256 key pair (re-key)");
            }
            csr = Csr.build(keyPair, X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                    attributes.challengePassword(), subjectAltNameExtension(certificate), attributes.extendedKeyUsage());
            new PendingRequest(OPERATION, est.estBase().toString(), serial, now, keyPair, csr)
                    .write(pendingFile, options.password());
        }
        steps.step(7, "sending the CSR (" + Csr.SIGNATURE_ALGORITHM + ") to " + est.estBase() + OPERATION);
        List<X509Certificate> returned = Issuance.request(est, OPERATION, csr, options.waitBudget(), waiting, steps,
                pendingFile);
        try {
            X509Certificate issued = Verifier.issuedCertificate(returned);
            steps.step(12, "MEF returned serial " + issued.getSerialNumber().toString(16) + ": subject "
                    + issued.getSubjectX500Principal().getName()
                    + ", SAN " + Describe.generalNames(Verifier.subjectAltNames(issued))
                    + ", EKUs " + Describe.oids(Enrolee.extendedKeyUsage(issued))
                    + ", notAfter " + issued.getNotAfter().toInstant());
            List<X509Certificate> chain = Verifier.verifyIssued(issued, returned, anchors, keyPair.getPublic(), identity);
            Credentials renewed = new Credentials(keyPair.getPrivate(), chain, anchors);
            renewed.replace(options.file(), options.password());
            Issuance.discard(pendingFile);
            steps.step(13, "verified (PKIX path to the stored anchors, our public key, SAN, digitalSignature);"
                    + " replaced " + options.file() + " atomically, trust anchors kept");
            return renewed;
        } catch (EnrolmentException e) {
            Issuance.discard(pendingFile);
            throw e;
        }
    }

    /** The certificate's own subjectAltName extension, so the CSR carries the same DER. */
    private static Extension subjectAltNameExtension(X509Certificate certificate) throws EnrolmentException {
        try {
            return new JcaX509CertificateHolder(certificate).getExtension(Extension.subjectAlternativeName);
        } catch (CertificateEncodingException e) {
            throw new EnrolmentException(Failure.VERIFICATION, "cannot read the current certificate: " + e.getMessage(), e);
        }
    }
}
