package org.mefgateway.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.hsm.CaKey;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.KeyAlgorithm;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.SubjectAltName;

/**
 * {@code ops/bench hsm}: on one token and in one run, (a) raw SunPKCS11 signing with the best
 * thread count, (b) the gateway's pooled signer, (c) whole certificate issuance through the
 * gateway's CertificateAuthority (TBS built, signed on the pool, certificate encoded), for EC P-256
 * and RSA-2048. Each of the three at 1, 2 and 2×cores threads (pool workers) is measured in turns
 * in {@value #SLICES} short slices, and its operations are summed over its slices, so that load
 * from elsewhere on the (shared) machine falls on all of them alike. Raw's best thread count is
 * the one with the highest sum; the pool and issuance are reported at that same count.
 *
 * <p>usage: HsmBench LIBRARY TOKEN_LABEL PIN_FILE MILLISECONDS_PER_SLICE
 */
public final class HsmBench {
    private static final int SLICES = 8;
    private static final Duration WARM_UP = Duration.ofMillis(300);
    private static final int IN_FLIGHT = 256;

    /** Operations and seconds summed over slices. */
    static final class Count {
        long operations;
        double seconds;

        void add(Count c) {
            operations += c.operations;
            seconds += c.seconds;
        }

        double rate() {
            return operations / seconds;
        }
    }

    record Result(String name, double raw, int rawThreads, double pool, int poolThreads, double issue) {
    }

    public static void main(String[] args) throws Exception {
        Path library = Path.of(args[0]);
        String tokenLabel = args[1];
        Path pinFile = Path.of(args[2]);
        Duration window = Duration.ofMillis(Long.parseLong(args[3]));
        List<Result> results = new ArrayList<>();
        for (KeyAlgorithm algorithm : List.of(KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048)) {
            String keyLabel = "bench-" + algorithm.cliName();
            HsmConfig config = new HsmConfig(library, tokenLabel, keyLabel, Optional.empty(), Optional.of(pinFile), 1, 4096);
            results.add(run(config, algorithm, window));
        }
        System.out.printf("%n%-9s %14s %8s %14s %8s %14s %9s %10s%n", "key", "raw sig/s", "threads", "pool sig/s", "workers",
                "issue cert/s", "pool/raw", "issue/raw");
        for (Result r : results) {
            System.out.printf("%-9s %14.0f %8d %14.0f %8d %14.0f %9.3f %10.3f%n", r.name, r.raw, r.rawThreads, r.pool,
                    r.poolThreads, r.issue, r.pool / r.raw, r.issue / r.raw);
        }
        Result p = results.get(0);
        System.out.printf("hsm p256: raw=%.0f pool=%.0f issue=%.0f pool/raw=%.3f issue/raw=%.3f%n",
                p.raw, p.pool, p.issue, p.pool / p.raw, p.issue / p.raw);
    }

    private static Result run(HsmConfig config, KeyAlgorithm algorithm, Duration window) throws Exception {
        try (Pkcs11Token token = Pkcs11Token.open(config)) {
            if (!token.hasCaKey()) {
                token.createSelfSignedCa("CN=Bench " + algorithm.cliName() + " CA", Duration.ofDays(30), algorithm);
            }
            CaKey key = token.caKey();
            int cores = Runtime.getRuntime().availableProcessors();
            List<Integer> threadCounts = List.of(1, 2, 2 * cores);
            // One pooled signer per thread count, so that (b) and (c) run with raw's best count:
            // the ratios then measure the pool and the issuance, not a difference in threads.
            List<CaSigner> signers = new ArrayList<>();
            List<CertificateAuthority> cas = new ArrayList<>();
            try {
                for (int threads : threadCounts) {
                    HsmConfig sized = new HsmConfig(config.library(), config.tokenLabel(), config.keyLabel(), config.pinEnv(),
                            config.pinFile(), threads, config.queueCapacity());
                    CaSigner signer = CaSigner.open(new CaKeyConfig(CaKeyConfig.DEFAULT, List.of(sized)), new SimpleMeterRegistry());
                    signers.add(signer);
                    cas.add(new CertificateAuthority(signer));
                }
                CertificateTemplate template = template();
                // What (a) and (b) sign: the TBSCertificate of a real device certificate.
                byte[] tbs = cas.get(0).prepare(template, Serials.next()).der();
                // Everything in turns, slice by slice: load from elsewhere on the machine then falls on
                // all alike. Raw's best thread count is the one with the most signatures over its slices.
                int n = threadCounts.size();
                List<Count> raws = counts(n);
                List<Count> pools = counts(n);
                List<Count> issues = counts(n);
                for (int slice = 0; slice < SLICES; slice++) {
                    for (int i = 0; i < n; i++) {
                        CaSigner signer = signers.get(i);
                        CertificateAuthority ca = cas.get(i);
                        raws.get(i).add(raw(token.provider(), key, threadCounts.get(i), tbs, window));
                        pools.get(i).add(pooled(() -> signer.sign(tbs), window));
                        issues.get(i).add(pooled(() -> ca.sign(ca.prepare(template, Serials.next())), window));
                    }
                }
                int best = 0;
                for (int i = 0; i < n; i++) {
                    System.out.printf("%s, %d thread(s): raw %.0f sig/s, pool %.0f sig/s, issue %.0f cert/s%n", algorithm.cliName(),
                            threadCounts.get(i), raws.get(i).rate(), pools.get(i).rate(), issues.get(i).rate());
                    if (raws.get(i).rate() > raws.get(best).rate()) {
                        best = i;
                    }
                }
                return new Result(algorithm == KeyAlgorithm.EC_P256 ? "p256" : "rsa2048", raws.get(best).rate(),
                        threadCounts.get(best), pools.get(best).rate(), threadCounts.get(best), issues.get(best).rate());
            } finally {
                signers.forEach(CaSigner::close);
            }
        }
    }

    private static List<Count> counts(int n) {
        List<Count> counts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            counts.add(new Count());
        }
        return counts;
    }

    /** Plain SunPKCS11 as a careful caller uses it: one Signature per thread, initialised once, no pool. */
    private static Count raw(Provider provider, CaKey key, int threads, byte[] data, Duration window) throws Exception {
        LongAdder count = new LongAdder();
        AtomicBoolean counting = new AtomicBoolean();
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Signature s = Signature.getInstance(key.algorithm().signatureAlgorithm(), provider);
            s.initSign(key.privateKey());
            Thread t = new Thread(() -> {
                try {
                    while (running.get()) {
                        s.update(data);
                        s.sign();
                        if (counting.get()) {
                            count.increment();
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            workers.add(t);
        }
        Count rate = measure(count, counting, window);
        running.set(false);
        for (Thread t : workers) {
            t.join();
        }
        return rate;
    }

    /**
     * Keeps up to IN_FLIGHT asynchronous operations outstanding from one caller thread, as the
     * gateway's request threads do. The caller tops the window up in batches and naps in between:
     * waking it on every completion would cost a context switch per signature, which the gateway
     * does not pay (its event loops are busy with other requests anyway).
     */
    private static Count pooled(Supplier<CompletionStage<byte[]>> operation, Duration window) throws Exception {
        LongAdder count = new LongAdder();
        AtomicBoolean counting = new AtomicBoolean();
        AtomicBoolean running = new AtomicBoolean(true);
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        Thread caller = new Thread(() -> {
            while (running.get()) {
                int free = inFlight.availablePermits();
                if (free < IN_FLIGHT / 4) {
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                    continue;
                }
                inFlight.acquireUninterruptibly(free);
                for (int i = 0; i < free; i++) {
                    operation.get().whenComplete((result, error) -> {
                        if (error != null) {
                            throw new IllegalStateException(error);
                        }
                        if (counting.get()) {
                            count.increment();
                        }
                        inFlight.release();
                    });
                }
            }
            inFlight.acquireUninterruptibly(IN_FLIGHT);
        });
        caller.start();
        Count rate = measure(count, counting, window);
        running.set(false);
        caller.join();
        return rate;
    }

    /** A short warm-up (threads starting, JIT), then the count over the window. */
    private static Count measure(LongAdder count, AtomicBoolean counting, Duration window) throws InterruptedException {
        Thread.sleep(WARM_UP.toMillis());
        counting.set(true);
        long start = System.nanoTime();
        Thread.sleep(window.toMillis());
        Count c = new Count();
        c.operations = count.sum();
        c.seconds = (System.nanoTime() - start) / 1e9;
        counting.set(false);
        return c;
    }

    /** A oneM2M device certificate's content: P-256 subject key, AE-ID in a SAN URI. */
    private static CertificateTemplate template() throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        Instant now = Instant.now();
        return new CertificateTemplate("CN=bench-device-0001,O=MEF Gateway Bench",
                List.of(new SubjectAltName(SubjectAltName.Kind.URI, "//m2m.example.com/CSE3219/C9886")),
                List.of("1.3.6.1.5.5.7.3.2"), true, now, now.plus(Duration.ofDays(365)), kpg.generateKeyPair().getPublic().getEncoded(),
                List.of(), List.of(), List.of(), List.of());
    }
}
