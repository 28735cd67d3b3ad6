package org.mefgateway.gateway.scep;

import java.security.cert.X509Certificate;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;

/**
 * A SCEP request as read from its SignedData (RFC 8894 3.2): the signed attributes a CertRep must
 * answer with (transactionID, senderNonce), the certificate it was signed with, and whether that
 * signature verifies. Its pkcsPKIEnvelope is still encrypted.
 *
 * @param type          the messageType, or empty when it is one this server does not know
 */
record PkiMessage(java.util.Optional<MessageType> type, String transactionId, byte[] senderNonce, X509Certificate signer,
                  boolean signatureVerifies, SignerInformation signerInfo, CMSSignedData signedData) {
}
