package org.mefgateway.hsm;

import java.security.Signature;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Measures how many concurrent signers a token rewards, for {@code signerThreads: 0}. More
 * workers than the token's parallelism only add queueing inside the PKCS#11 module, and past
 * SunPKCS11's five idle operation sessions they make it open and close a session per signature.
 * We start at the number of cores (on a busy machine a measurement can undercount, and one worker
 * too many costs only a short queue at the token, one too few costs throughput) and double the
 * thread count while throughput still grows by at least 10%, up to SunPKCS11's five idle sessions
 * per provider instance (an operator who measured more on a network HSM sets the number).
 */
final class Parallelism {
    private static final long SAMPLE_NANOS = 100_000_000L;
    private static final double WORTHWHILE_GAIN = 1.10;
    private static final int MAX_THREADS = 5;

    private Parallelism() {
    }

    static int measure(CaKey key) throws HsmException {
        int best = Math.min(Runtime.getRuntime().availableProcessors(), MAX_THREADS);
        rate(key, best); // warms up the JIT and the provider's session pool; not counted
        double bestRate = rate(key, best);
        for (int threads = Math.min(2 * best, MAX_THREADS); threads > best; threads = Math.min(2 * best, MAX_THREADS)) {
            double r = rate(key, threads);
            if (r < bestRate * WORTHWHILE_GAIN) {
                break;
            }
            best = threads;
            bestRate = r;
        }
        return best;
    }

    /** Signatures per second with {@code threads} threads, each with its own Signature. */
    private static double rate(CaKey key, int threads) throws HsmException {
        LongAdder count = new LongAdder();
        List<Thread> workers = new ArrayList<>();
        List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        long deadline = System.nanoTime() + SAMPLE_NANOS;
        byte[] data = new byte[512];
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                try {
                    Signature s = Signature.getInstance(key.algorithm().signatureAlgorithm(), key.provider());
                    s.initSign(key.privateKey());
                    while (System.nanoTime() < deadline) {
                        s.update(data);
                        s.sign();
                        count.increment();
                    }
                } catch (Exception e) {
                    failures.add(e);
                }
            }, "hsm-parallelism-" + i);
            t.start();
            workers.add(t);
        }
        for (Thread t : workers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HsmException("interrupted while measuring the token");
            }
        }
        if (!failures.isEmpty()) {
            throw new HsmException("cannot measure the token's parallelism: " + failures.get(0).getMessage(), failures.get(0));
        }
        return count.sum() * 1e9 / SAMPLE_NANOS;
    }
}
