package org.mefgateway.gateway.ca;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletionException;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;
import org.mefgateway.hsm.CaSigner;

/**
 * Lets Bouncy Castle's CRL and OCSP builders sign with the pooled HSM signer: the builder's
 * writes are buffered so the HSM sees one operation, and {@link #getSignature} waits for it.
 * It blocks, so it is used only on worker threads (CRL and OCSP work), never on an event loop.
 */
final class HsmContentSigner implements ContentSigner {
    private final CaSigner signer;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

    HsmContentSigner(CaSigner signer) {
        this.signer = signer;
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
        return signer.algorithm();
    }

    @Override
    public OutputStream getOutputStream() {
        return buffer;
    }

    @Override
    public byte[] getSignature() {
        try {
            return signer.sign(buffer.toByteArray()).toCompletableFuture().join();
        } catch (CompletionException e) {
            // Keep the signer's own failure (busy, HSM down): callers map it to 503.
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }
}
