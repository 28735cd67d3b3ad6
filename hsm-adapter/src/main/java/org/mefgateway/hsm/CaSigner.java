package org.mefgateway.hsm;

import io.micrometer.core.instrument.MeterRegistry;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;

/**
 * Signs with one CA key, asynchronously, on the tokens that hold it (see {@link CaKeyConfig}).
 * Each token has its own bounded pool of workers and its own circuit breaker ({@link TokenSigner});
 * requests go round-robin to the tokens whose circuit is closed, and a request whose token is busy
 * or fails under it is tried once on each other token before it fails. Overload and outage are
 * visible at once: {@link HsmBusyException} when every queue is full, {@link HsmUnavailableException}
 * when no token is in service — the gateway answers both with 503 and Retry-After.
 */
public final class CaSigner implements AutoCloseable {
    private final String name;
    private final List<TokenSigner> tokens;
    private final X509Certificate certificate;
    private final List<X509Certificate> chain;
    private final KeyAlgorithm algorithm;
    private final AtomicInteger next = new AtomicInteger();

    private CaSigner(String name, List<TokenSigner> tokens, CaKey key) {
        this.name = name;
        this.tokens = List.copyOf(tokens);
        this.certificate = key.certificate();
        this.chain = key.chain();
        this.algorithm = key.algorithm();
    }

    /**
     * Opens every token of the key. The first token that opens fixes the key (its certificate and
     * public key); a further token that cannot be opened now starts out of service and recovers in
     * the background, one holding a different key is refused. Fails if no token opens.
     */
    public static CaSigner open(CaKeyConfig config, MeterRegistry meters) throws HsmException {
        List<TokenSigner> opened = new ArrayList<>();
        CaKey first = null;
        List<HsmException> failures = new ArrayList<>();
        List<HsmConfig> later = new ArrayList<>();
        try {
            for (HsmConfig token : config.tokens()) {
                try {
                    TokenSigner s = TokenSigner.open(config.name(), token, first == null ? null : first.publicKey(), meters);
                    if (first == null) {
                        first = s.key();
                    }
                    opened.add(s);
                } catch (WrongKeyException e) {
                    throw e;
                } catch (HsmException e) {
                    failures.add(e);
                    later.add(token);
                }
            }
            if (first == null) {
                throw failures.get(0);
            }
            for (int i = 0; i < later.size(); i++) {
                opened.add(TokenSigner.openLater(config.name(), later.get(i), first.publicKey(), meters, failures.get(i)));
            }
            return new CaSigner(config.name(), opened, first);
        } catch (HsmException | RuntimeException e) {
            opened.forEach(TokenSigner::close);
            throw e;
        }
    }

    /** The key's name in the configuration. */
    public String name() {
        return name;
    }

    /** The CA certificate (from the first token that opened). */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The CA certificate first, then its issuers as stored on the token. */
    public List<X509Certificate> chain() {
        return chain;
    }

    public PublicKey publicKey() {
        return certificate.getPublicKey();
    }

    /** The signature algorithm of what {@link #sign} returns (ECDSA or RSA PKCS#1 with SHA-256). */
    public AlgorithmIdentifier algorithm() {
        return algorithm.algorithmId();
    }

    /** Signing workers over all tokens of the key. */
    public int threads() {
        return tokens.stream().mapToInt(TokenSigner::threads).sum();
    }

    /**
     * For the tokens with {@code signerThreads: auto} (which start with one worker): measures
     * each, one after the other so that no measurement shares the token or the CPU with another,
     * and grows its pool to the size chosen. Blocks about a second per token; signs meanwhile.
     */
    public void measureWorkers() {
        tokens.forEach(TokenSigner::measureWorkers);
    }

    /**
     * Signs {@code data} (for example a DER TBSCertificate) in one PKCS#11 operation. Completes
     * exceptionally with {@link HsmBusyException} when every queue is full, with
     * {@link HsmUnavailableException} when no token is in service, and with {@link HsmException}
     * when the token refuses this request.
     */
    public CompletionStage<byte[]> sign(byte[] data) {
        if (tokens.size() == 1) {
            return tokens.get(0).sign(data);
        }
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        attempt(data, next.getAndIncrement(), 0, result);
        return result;
    }

    /** Tries the tokens from {@code start} on; each token is tried at most once per request. */
    private void attempt(byte[] data, int start, int tried, CompletableFuture<byte[]> result) {
        TokenSigner token = tokens.get(Math.floorMod(start + tried, tokens.size()));
        token.sign(data).whenComplete((signature, error) -> {
            if (error == null) {
                result.complete(signature);
            } else if (retryElsewhere(error) && tried + 1 < tokens.size()) {
                attempt(data, start, tried + 1, result);
            } else {
                result.completeExceptionally(error);
            }
        });
    }

    private static boolean retryElsewhere(Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        return e instanceof HsmBusyException || e instanceof HsmUnavailableException;
    }

    /** Whether at least one token of the key is in service (its circuit closed). */
    public boolean available() {
        return tokens.stream().anyMatch(TokenSigner::available);
    }

    /**
     * The readiness probe: one signature through the pool, so that a token that died while idle is
     * noticed (and its circuit opened) even without traffic. A full queue proves the token works.
     */
    public CompletionStage<Void> probe() {
        return sign(PROBE).handle((signature, error) -> {
            Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (e == null || e instanceof HsmBusyException) {
                return null;
            }
            throw new CompletionException(e);
        });
    }

    private static final byte[] PROBE = "mef-readiness-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Stops taking work, lets queued signatures finish and logs out of every token. */
    @Override
    public void close() {
        tokens.forEach(TokenSigner::close);
    }
}
