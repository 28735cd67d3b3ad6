package org.mefgateway.hsm;

import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.X509Certificate;
import java.util.List;
import org.bouncycastle.operator.ContentSigner;

/**
 * A CA key on the token, looked up once: the private key handle (never its value: the key is
 * sensitive and not extractable) and the certificate chain stored beside it, CA certificate first.
 */
public final class CaKey {
    private final String label;
    private final PrivateKey privateKey;
    private final List<X509Certificate> chain;
    private final Provider provider;

    CaKey(String label, PrivateKey privateKey, List<X509Certificate> chain, Provider provider) {
        this.label = label;
        this.privateKey = privateKey;
        this.chain = List.copyOf(chain);
        this.provider = provider;
    }

    public String label() {
        return label;
    }

    public X509Certificate certificate() {
        return chain.get(0);
    }

    public List<X509Certificate> chain() {
        return chain;
    }

    /** The token's handle of the private key: usable for signing, its value unreadable. */
    public PrivateKey privateKey() {
        return privateKey;
    }

    /** A synchronous, buffered ContentSigner for occasional signatures outside the pool. */
    public ContentSigner contentSigner() {
        return new TokenContentSigner(privateKey, provider);
    }

    /** A pool of signing workers for this key; close it to stop the workers. */
    public CaSigner signer(int threads, int queueCapacity) {
        return new CaSigner(this, provider, threads, queueCapacity);
    }
}
