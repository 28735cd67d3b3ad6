package org.mefgateway.hsm;

import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Signature;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;

/**
 * Signs with a CA key on a bounded pool of workers. Each worker keeps its own
 * {@link Signature} ({@code P11Signature} is not thread-safe) bound to the key handle looked up
 * once. The queue in front of the workers is bounded: when it is full the caller gets an
 * {@link HsmBusyException} at once, so overload shows as a refusal the gateway can turn into
 * 503 + Retry-After rather than as ever-growing latency.
 */
public final class CaSigner implements AutoCloseable {
    private final CaKey key;
    private final Provider provider;
    private final ThreadPoolExecutor workers;
    private final ThreadLocal<Signature> signatures;

    CaSigner(CaKey key, Provider provider, int threads, int queueCapacity) {
        this.key = key;
        this.provider = provider;
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queueCapacity), r -> {
                    Thread t = new Thread(r, "hsm-signer-" + key.label() + "-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.signatures = ThreadLocal.withInitial(this::newSignature);
    }

    private Signature newSignature() {
        try {
            return Signature.getInstance(TokenContentSigner.ALGORITHM, provider);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("token provider has no " + TokenContentSigner.ALGORITHM, e);
        }
    }

    public CaKey key() {
        return key;
    }

    /** The signature algorithm of what {@link #sign} returns (ecdsa-with-SHA256, DER signature). */
    public AlgorithmIdentifier algorithm() {
        return TokenContentSigner.ALGORITHM_ID;
    }

    /**
     * Signs {@code data} (for example a DER TBSCertificate) in one PKCS#11 operation.
     * Completes exceptionally with {@link HsmBusyException} when the queue is full and with
     * {@link HsmException} when the token fails.
     */
    public CompletionStage<byte[]> sign(byte[] data) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        try {
            workers.execute(() -> {
                try {
                    Signature signature = signatures.get();
                    signature.initSign(key.privateKey());
                    signature.update(data);
                    result.complete(signature.sign());
                } catch (Exception e) {
                    result.completeExceptionally(new HsmException("signature with CA key '" + key.label() + "' failed: " + e.getMessage(), e));
                }
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new HsmBusyException("all " + workers.getMaximumPoolSize()
                    + " HSM signers are busy and " + workers.getQueue().size() + " signatures are waiting"));
        }
        return result;
    }

    /** Stops taking work, lets queued signatures finish (up to the timeout) and stops the workers. */
    @Override
    public void close() {
        workers.shutdown();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
