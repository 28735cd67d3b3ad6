package org.mefgateway.hsm;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Signature;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.RuntimeOperatorException;

/**
 * A Bouncy Castle ContentSigner backed by a token key, for the occasional synchronous signature
 * (the CA certificate itself, a CSR, the gateway's TLS certificate). The content is buffered and
 * signed in one call: Bouncy Castle writes a TBS in about 145 small pieces, each of which would
 * otherwise be a separate PKCS#11 call.
 */
final class TokenContentSigner implements ContentSigner {
    private final PrivateKey key;
    private final Provider provider;
    private final KeyAlgorithm algorithm;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);

    TokenContentSigner(PrivateKey key, Provider provider, KeyAlgorithm algorithm) {
        this.key = key;
        this.provider = provider;
        this.algorithm = algorithm;
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
        return algorithm.algorithmId();
    }

    @Override
    public OutputStream getOutputStream() {
        return buffer;
    }

    @Override
    public byte[] getSignature() {
        try {
            Signature signature = Signature.getInstance(algorithm.signatureAlgorithm(), provider);
            signature.initSign(key);
            signature.update(buffer.toByteArray());
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new RuntimeOperatorException("token signature failed: " + e.getMessage(), e);
        }
    }
}
