package org.mefgateway.gateway.scep;

import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Optional;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.mefgateway.gateway.est.EstWire;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;

/**
 * GetCert and GetCRL (RFC 8894 3.3.4): a certificate of the ledger for the one it was issued to,
 * and the current CRL of the CA that GetCACert names.
 */
final class LedgerQueries {
    private final Store store;
    private final WorkerExecutor storeWorkers;
    /** The CA key SCEP issues with (the scep profile's), whose CRL GetCRL answers with. */
    private final String caKey;
    /** That CA key's name, as GetCACert gives it. */
    private final X500Name caName;

    LedgerQueries(Store store, WorkerExecutor storeWorkers, String caKey, X509Certificate caCertificate) {
        this.store = store;
        this.storeWorkers = storeWorkers;
        this.caKey = caKey;
        this.caName = X500Name.getInstance(caCertificate.getSubjectX500Principal().getEncoded());
    }

    /**
     * RFC 8894 3.3.4 GetCert: the certificate named, when this MEF issued it and the asker owns it:
     * the message is signed with that certificate's key, or with a certificate this MEF issued to the
     * same Enrolee (still in the ledger as issued). Anything else is badCertId, the same whether or
     * not the certificate exists, so that nobody learns what the ledger holds.
     */
    Future<ScepWire.Reply> certificate(X509Certificate signer, IssuerAndSerialNumber wanted) {
        return storeWorkers.executeBlocking(() -> {
            String serial = wanted.getSerialNumber().getValue().toString(16);
            IssuedCertificate cert = store.certificate(serial)
                    .filter(c -> issuer(c).equals(wanted.getName()))
                    .filter(c -> ownedBy(c, signer))
                    .orElseThrow(() -> new ScepFailure(FailInfo.BAD_CERT_ID, "no certificate " + serial + " of " + wanted.getName()
                            + " that this signer owns"));
            return new ScepWire.Reply.Issued(cert.der());
        }, false);
    }

    /** RFC 8894 3.3.4 GetCRL: the CRL served at /crl/{caKey}.crl, of the CA of GetCACert; another issuer is badCertId. */
    Future<ScepWire.Reply> crl(IssuerAndSerialNumber about) {
        if (!caName.equals(about.getName())) {
            return Future.failedFuture(new ScepFailure(FailInfo.BAD_CERT_ID, "this MEF's SCEP CA is " + caName + ", not " + about.getName()));
        }
        return storeWorkers.executeBlocking(() -> new ScepWire.Reply.Crl(store.latestCrl(caKey)
                .orElseThrow(() -> new ScepFailure(FailInfo.BAD_CERT_ID, "no CRL of " + caName + " has been signed yet")).der()), false);
    }

    private boolean ownedBy(IssuedCertificate cert, X509Certificate signer) {
        if (Arrays.equals(ScepWire.der(holder(cert).getSubjectPublicKeyInfo()), signer.getPublicKey().getEncoded())) {
            return true;
        }
        Optional<IssuedCertificate> signedWith = store.certificate(signer.getSerialNumber().toString(16));
        return signedWith.isPresent() && signedWith.get().status() == IssuedCertificate.Status.ISSUED
                && signedWith.get().enroleeId().equals(cert.enroleeId()) && Arrays.equals(signedWith.get().der(), EstWire.der(signer));
    }

    private static X500Name issuer(IssuedCertificate cert) {
        return holder(cert).getIssuer();
    }

    private static X509CertificateHolder holder(IssuedCertificate cert) {
        try {
            return new X509CertificateHolder(cert.der());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a certificate of the ledger does not parse: " + cert.serialHex(), e);
        }
    }
}
