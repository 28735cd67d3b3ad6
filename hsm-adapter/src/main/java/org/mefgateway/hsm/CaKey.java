package org.mefgateway.hsm;

import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.operator.ContentSigner;

/**
 * A CA key on the token, looked up once: the private key handle (never its value: the key is
 * sensitive and not extractable) and the certificate chain stored beside it, CA certificate first.
 * It belongs to one provider instance; after a token fault the signer looks the key up again.
 */
public final class CaKey {
    private final String label;
    private final PrivateKey privateKey;
    private final List<X509Certificate> chain;
    private final Provider provider;
    private final KeyAlgorithm algorithm;

    CaKey(String label, PrivateKey privateKey, List<X509Certificate> chain, Provider provider) throws HsmException {
        this.label = label;
        this.privateKey = privateKey;
        this.chain = List.copyOf(chain);
        this.provider = provider;
        this.algorithm = KeyAlgorithm.of(privateKey);
    }

    public String label() {
        return label;
    }

    public X509Certificate certificate() {
        return chain.get(0);
    }

    /** The key's public half, as the certificate stored beside it states it. */
    public PublicKey publicKey() {
        return certificate().getPublicKey();
    }

    public List<X509Certificate> chain() {
        return chain;
    }

    public KeyAlgorithm algorithm() {
        return algorithm;
    }

    /** The token's handle of the private key: usable for signing, its value unreadable. */
    public PrivateKey privateKey() {
        return privateKey;
    }

    Provider provider() {
        return provider;
    }

    /** A synchronous, buffered ContentSigner for occasional signatures outside the pool. */
    public ContentSigner contentSigner() {
        return new TokenContentSigner(privateKey, provider, algorithm);
    }
}
