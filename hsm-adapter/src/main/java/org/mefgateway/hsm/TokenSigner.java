package org.mefgateway.hsm;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA key on one token: a bounded pool of signing workers, a circuit breaker, and the
 * re-initialisation that closes the circuit again.
 *
 * <p>Each worker keeps one {@link Signature} per provider instance, initialised once with the key
 * handle ({@code P11Signature} is not thread-safe; looking the key up or calling initSign per
 * signature costs throughput). A signature failing with a token fault (see {@link Ckr}) opens the
 * circuit: the provider instance is dropped and every request fails at once with
 * {@link HsmUnavailableException} instead of waiting on a dead token. A recovery thread then
 * re-opens the token with backoff — a new SunPKCS11 instance, login, key lookup — and closes the
 * circuit only once a probe signature verifies under the public key this signer started with, so
 * no signature from another key can ever be returned. When the fresh instance finds that the
 * module itself has lost the token (see {@link Pkcs11Module#cures}), the recovery finalises and
 * initialises the module again first; every token of that library is then opened anew, since the
 * reload ends their provider instances too: a signer notices that by the module's epoch, before it
 * touches the token.
 */
final class TokenSigner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TokenSigner.class);
    static final Duration FIRST_RETRY = Duration.ofMillis(100);
    static final Duration LAST_RETRY = Duration.ofSeconds(10);
    private static final byte[] PROBE = "mef-hsm-recovery-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** A logged-in provider instance, the key handle looked up through it, and the module epoch it belongs to. */
    private static final class Binding {
        final Pkcs11Token token;
        final CaKey key;
        final long epoch;
        final ThreadLocal<Signature> signatures;

        Binding(Pkcs11Token token, CaKey key, long epoch) {
            this.token = token;
            this.key = key;
            this.epoch = epoch;
            this.signatures = new ThreadLocal<>();
        }

        Signature signature() throws GeneralSecurityException {
            Signature s = signatures.get();
            if (s == null) {
                s = Signature.getInstance(key.algorithm().signatureAlgorithm(), key.provider());
                s.initSign(key.privateKey());
                signatures.set(s);
            }
            return s;
        }
    }

    private final String keyName;
    private final HsmConfig config;
    private final Pkcs11Module module;
    private final PublicKey expectedKey;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService recovery;
    private final MeterRegistry registry;
    private final Tags tags;
    private final Timer signTime;
    private final Counter reinitialisations;
    private final Counter failedReinitialisations;
    private final Counter moduleReloads;
    private final List<Meter> meters = new ArrayList<>();
    private volatile int threads;
    /** Held while measureWorkers signs on the token, so that close does not log out under it. */
    private final Object measuring = new Object();
    private volatile Binding binding;
    private volatile boolean closed;
    private Duration nextRetry = FIRST_RETRY; // only touched on the recovery thread
    private Outage outage = new Outage(); // only touched on the recovery thread

    /**
     * The outage the recovery thread is repairing, so that each step is logged once: the first
     * failure and each change of reason, the first module reload, and the end with its totals.
     */
    private static final class Outage {
        final long startNanos = System.nanoTime();
        int attempts;
        int reloads;
        String reason = "";
    }

    private TokenSigner(String keyName, HsmConfig config, Binding binding, PublicKey expectedKey, int threads,
                        MeterRegistry registry) {
        this.keyName = keyName;
        this.config = config;
        this.module = Pkcs11Module.of(config);
        this.binding = binding;
        this.expectedKey = expectedKey;
        this.threads = threads;
        this.registry = registry;
        String name = keyName + "@" + config.tokenLabel();
        AtomicInteger n = new AtomicInteger();
        // A linked queue has separate locks for callers adding and workers taking: with one array
        // lock, a caller queueing a burst stalls the worker between signatures.
        this.workers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(config.queueCapacity()), r -> daemon(r, "hsm-signer-" + name + "-" + n.incrementAndGet()));
        this.workers.prestartAllCoreThreads();
        this.recovery = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "hsm-recovery-" + name));
        this.tags = Tags.of("key", keyName, "token", config.tokenLabel());
        this.signTime = Timer.builder("mef.hsm.sign").description("time the token takes for one signature")
                .tags(tags).publishPercentileHistogram()
                // A P-256 signature on a fast token takes ~0.1 ms, on a network HSM or under load seconds.
                .minimumExpectedValue(Duration.ofNanos(50_000)).maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        this.reinitialisations = Counter.builder("mef.hsm.reinitialisations")
                .description("attempts to re-initialise the token after a fault").tags(tags).tag("outcome", "success").register(registry);
        this.failedReinitialisations = Counter.builder("mef.hsm.reinitialisations")
                .description("attempts to re-initialise the token after a fault").tags(tags).tag("outcome", "failure").register(registry);
        this.moduleReloads = Counter.builder("mef.hsm.module.reloads")
                .description("PKCS#11 module finalised and initialised again by this token's recovery (every token of the library re-opens)")
                .tags(tags).register(registry);
        meters.add(signTime);
        meters.add(reinitialisations);
        meters.add(failedReinitialisations);
        meters.add(moduleReloads);
        meters.add(Gauge.builder("mef.hsm.pool.in.use", workers, ThreadPoolExecutor::getActiveCount)
                .description("signing workers busy").tags(tags).register(registry));
        meters.add(Gauge.builder("mef.hsm.pool.size", this, s -> s.threads)
                .description("signing workers").tags(tags).register(registry));
        meters.add(Gauge.builder("mef.hsm.queue.depth", workers, w -> w.getQueue().size())
                .description("signatures waiting for a worker").tags(tags).register(registry));
        meters.add(Gauge.builder("mef.hsm.circuit.state", this, s -> s.available() ? 0 : 1)
                .description("0 closed (signing), 1 open (token out of service, re-initialising)").tags(tags).register(registry));
    }

    /**
     * Opens the token and looks the key up. With {@code expectedKey} null the key found becomes the
     * expected one; otherwise a token holding a different key is refused.
     */
    static TokenSigner open(String keyName, HsmConfig config, PublicKey expectedKey, MeterRegistry registry) throws HsmException {
        Pkcs11Module module = Pkcs11Module.of(config);
        Binding b = bind(config, expectedKey, module);
        PublicKey expected = expectedKey != null ? expectedKey : b.key.publicKey();
        // signerThreads: auto starts with one worker, a size every token serves, and grows once
        // measureWorkers has measured the token: the measurement (about a second) then neither
        // delays readiness nor competes with the start for the CPU.
        boolean auto = config.signerThreads() == HsmConfig.AUTO_THREADS;
        int threads = auto ? 1 : config.signerThreads();
        LOG.info("CA key '{}' on token '{}': {} signing workers{}, queue {}", keyName, config.tokenLabel(), threads,
                auto ? " until the token's parallelism is measured (signerThreads: auto)" : "", config.queueCapacity());
        return new TokenSigner(keyName, config, b, expected, threads, registry);
    }

    /**
     * A token that cannot be opened now: starts with its circuit open and keeps trying. Only for
     * additional tokens of a key whose public key is already known from another token.
     */
    static TokenSigner openLater(String keyName, HsmConfig config, PublicKey expectedKey, MeterRegistry registry, HsmException why) {
        LOG.warn("CA key '{}' on token '{}' is not available yet ({}); retrying in the background", keyName,
                config.tokenLabel(), why.getMessage());
        int threads = Math.max(1, config.signerThreads());
        TokenSigner s = new TokenSigner(keyName, config, null, expectedKey, threads, registry);
        s.outage.reason = String.valueOf(why.getMessage());
        s.scheduleRecovery();
        return s;
    }

    /**
     * Opens a fresh provider instance, in the module's current epoch. Not logged out on failure
     * (see trip): the instance is dropped and its sessions go with it.
     */
    private static Binding bind(HsmConfig config, PublicKey expectedKey, Pkcs11Module module) throws HsmException {
        Lock inUse = module.inUse();
        inUse.lock();
        try {
            long epoch = module.epoch();
            Pkcs11Token token = Pkcs11Token.open(config);
            CaKey key = token.caKey();
            if (expectedKey != null) {
                requireSameKey(key, expectedKey, config);
            }
            return new Binding(token, key, epoch);
        } finally {
            inUse.unlock();
        }
    }

    /**
     * The certificate stored beside the key is only a label: the probe signature proves that the
     * private key on the token is the one we expect.
     */
    private static void requireSameKey(CaKey key, PublicKey expected, HsmConfig config) throws HsmException {
        try {
            Signature s = Signature.getInstance(key.algorithm().signatureAlgorithm(), key.provider());
            s.initSign(key.privateKey());
            s.update(PROBE);
            byte[] signature = s.sign();
            Signature v = Signature.getInstance(key.algorithm().signatureAlgorithm());
            v.initVerify(expected);
            v.update(PROBE);
            if (!key.publicKey().equals(expected) || !v.verify(signature)) {
                throw new WrongKeyException("token '" + config.tokenLabel() + "' holds a different key under label '"
                        + config.keyLabel() + "': refused");
            }
        } catch (GeneralSecurityException | java.security.ProviderException e) {
            throw new HsmException("probe signature on token '" + config.tokenLabel() + "' failed: " + e.getMessage(), e);
        }
    }

    String tokenLabel() {
        return config.tokenLabel();
    }

    int threads() {
        return threads;
    }

    /**
     * For {@code signerThreads: auto}: measures the token's parallelism ({@link Parallelism}) and
     * grows the pool to the size chosen, logging the rates it was chosen on. Blocks for the
     * measurement (about a second); signatures go on meanwhile on the worker already running. A
     * token that fails while being measured keeps its one worker (its circuit handles the fault).
     */
    void measureWorkers() {
        Binding b = binding;
        if (config.signerThreads() != HsmConfig.AUTO_THREADS || b == null || closed) {
            return;
        }
        Parallelism.Measurement measured;
        synchronized (measuring) {
            Lock inUse = module.inUse();
            inUse.lock();
            try {
                if (closed || b.epoch != module.epoch()) {
                    return;
                }
                measured = Parallelism.measure(b.key);
            } catch (HsmException e) {
                LOG.warn("CA key '{}' on token '{}': cannot measure the token's parallelism ({}); keeping {} signing workers",
                        keyName, config.tokenLabel(), e.getMessage(), threads);
                return;
            } finally {
                inUse.unlock();
            }
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            // The pool starts at one and the rule never chooses fewer, so it only grows: maximum first.
            workers.setMaximumPoolSize(measured.threads());
            workers.setCorePoolSize(measured.threads());
            workers.prestartAllCoreThreads();
            threads = measured.threads();
        }
        LOG.info("CA key '{}' on token '{}': {} signing workers (measured, signatures per second by workers: {}), queue {}",
                keyName, config.tokenLabel(), measured.threads(), measured.summary(), config.queueCapacity());
    }

    /** The key as looked up now; null while the circuit is open. */
    CaKey key() {
        Binding b = binding;
        return b == null ? null : b.key;
    }

    /**
     * Whether the circuit is closed: the token is logged in and signing. A binding of an earlier
     * module epoch is already dead; the next request on it opens the circuit.
     */
    boolean available() {
        Binding b = binding;
        return b != null && b.epoch == module.epoch();
    }

    /** Signatures waiting for a worker. */
    int queued() {
        return workers.getQueue().size();
    }

    /**
     * Signs on a worker. Fails with {@link HsmBusyException} at once when the queue is full, with
     * {@link HsmUnavailableException} at once when the circuit is open or when the token fails
     * during this signature, and with {@link HsmException} when the token refuses this request only.
     */
    CompletableFuture<byte[]> sign(byte[] data) {
        CompletableFuture<byte[]> result = new CompletableFuture<>();
        if (binding == null) {
            result.completeExceptionally(unavailable());
            return result;
        }
        try {
            workers.execute(() -> signNow(data, result));
        } catch (RejectedExecutionException e) {
            registry.counter("mef.hsm.rejected", tags.and("reason", "busy")).increment();
            result.completeExceptionally(new HsmBusyException("all " + threads + " signers of token '" + config.tokenLabel()
                    + "' are busy and " + workers.getQueue().size() + " signatures are waiting"));
        }
        return result;
    }

    private void signNow(byte[] data, CompletableFuture<byte[]> result) {
        Binding b = binding;
        if (b == null) {
            // The circuit opened while this request waited: fail it now rather than on a dead token.
            result.completeExceptionally(unavailable());
            return;
        }
        // Held while signing, so that the module is never re-initialised under a signature.
        Lock inUse = module.inUse();
        inUse.lock();
        try {
            if (b.epoch != module.epoch()) {
                // Re-initialised for a fault (maybe of another token of the library): this
                // instance's handles are dead and may name other sessions or keys now.
                expire(b);
                result.completeExceptionally(unavailable());
                return;
            }
            signOn(b, data, result);
        } finally {
            inUse.unlock();
        }
    }

    private void signOn(Binding b, byte[] data, CompletableFuture<byte[]> result) {
        long start = System.nanoTime();
        try {
            Signature s = b.signature();
            s.update(data);
            byte[] signature = s.sign();
            signTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            result.complete(signature);
        } catch (Exception | Error e) {
            Ckr.Failure failure = Ckr.classify(e);
            registry.counter("mef.hsm.errors", tags.and("ckr", failure.ckr())).increment();
            if (failure.tokenFault()) {
                trip(b, failure, e);
                result.completeExceptionally(new HsmUnavailableException("token '" + config.tokenLabel() + "' failed ("
                        + failure.ckr() + ") while signing with CA key '" + keyName + "'"));
            } else {
                // The Signature reset itself; the token is fine, only this request was refused.
                result.completeExceptionally(new HsmException("token '" + config.tokenLabel() + "' refused the signature ("
                        + failure.ckr() + "): " + e.getMessage(), e));
            }
        }
    }

    /** Opens the circuit, once per provider instance even when every worker fails at the same time. */
    private synchronized void trip(Binding failed, Ckr.Failure failure, Throwable cause) {
        if (binding != failed || closed) {
            return;
        }
        binding = null;
        LOG.error("token '{}' failed ({}: {}): circuit open for CA key '{}', re-initialising", config.tokenLabel(),
                failure.ckr(), cause.getMessage(), keyName);
        // Not logged out: PKCS#11 login state belongs to the whole process, and other keys may use the
        // same token. The dropped instance is left as it is (SunPKCS11's static list of sessions keeps
        // an instance that has one reachable, so its dead session handles are never closed later).
        startRecovery();
    }

    /** Opens the circuit because the module was re-initialised after this binding was opened. */
    private synchronized void expire(Binding stale) {
        if (binding != stale || closed) {
            return;
        }
        binding = null;
        LOG.info("token '{}': the PKCS#11 module {} was re-initialised since it was opened: circuit open for CA key '{}'"
                + " while it is opened again", config.tokenLabel(), module.library(), keyName);
        startRecovery();
    }

    private void startRecovery() {
        recovery.execute(() -> {
            nextRetry = FIRST_RETRY;
            outage = new Outage();
        });
        scheduleRecovery();
    }

    private void scheduleRecovery() {
        recovery.execute(() -> {
            if (!closed) {
                recovery.schedule(this::reinitialise, nextRetry.toMillis(), TimeUnit.MILLISECONDS);
            }
        });
    }

    /**
     * One attempt: a fresh provider instance; if that shows the module has lost the token, the
     * module re-initialised (once per epoch for all tokens of the library) and a fresh instance
     * again. Counted as one success or one failure. Logged once per step, not per attempt.
     */
    private void reinitialise() {
        if (closed) {
            return;
        }
        outage.attempts++;
        try {
            Binding fresh;
            long epoch = module.epoch();
            try {
                fresh = bind(config, expectedKey, module);
            } catch (HsmException | RuntimeException e) {
                if (!Pkcs11Module.cures(e)) {
                    throw e;
                }
                if (module.reload(epoch)) {
                    moduleReloads.increment();
                    outage.reloads++;
                    if (outage.reloads == 1) {
                        LOG.warn("token '{}': a fresh provider instance finds the PKCS#11 module has lost the token ({});"
                                + " the module {} was finalised and initialised again (every token of that library is opened again)",
                                config.tokenLabel(), e.getMessage(), module.library());
                    }
                }
                fresh = bind(config, expectedKey, module);
            }
            synchronized (this) {
                if (closed) {
                    return;
                }
                binding = fresh;
            }
            reinitialisations.increment();
            nextRetry = FIRST_RETRY;
            LOG.info("token '{}' re-initialised after {} attempt(s) and {} module reload(s) in {} ms: circuit closed for CA key '{}'",
                    config.tokenLabel(), outage.attempts, outage.reloads,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - outage.startNanos), keyName);
        } catch (HsmException | RuntimeException e) {
            failedReinitialisations.increment();
            if (!outage.reason.equals(e.getMessage())) {
                outage.reason = String.valueOf(e.getMessage());
                LOG.warn("token '{}' still unavailable ({}); retrying with backoff up to {} s, logged again when the reason changes",
                        config.tokenLabel(), e.getMessage(), LAST_RETRY.toSeconds());
            }
            nextRetry = nextRetry.multipliedBy(2).compareTo(LAST_RETRY) > 0 ? LAST_RETRY : nextRetry.multipliedBy(2);
            scheduleRecovery();
        }
    }

    private HsmUnavailableException unavailable() {
        registry.counter("mef.hsm.rejected", tags.and("reason", "circuit-open")).increment();
        return new HsmUnavailableException("token '" + config.tokenLabel() + "' holding CA key '" + keyName
                + "' is out of service and being re-initialised");
    }

    /** Stops taking work, lets queued signatures finish (up to 10 s), logs out and removes the meters. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        recovery.shutdownNow();
        workers.shutdown();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Binding b = binding;
        binding = null;
        Lock inUse = module.inUse();
        // After a measurement under way (it signs on this token; it sees closed and sizes nothing).
        synchronized (measuring) {
            inUse.lock();
            try {
                // An instance of an earlier epoch has no session left; its handles may be another's now.
                if (b != null && b.epoch == module.epoch()) {
                    b.token.close();
                }
            } finally {
                inUse.unlock();
            }
        }
        meters.forEach(registry::remove);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
