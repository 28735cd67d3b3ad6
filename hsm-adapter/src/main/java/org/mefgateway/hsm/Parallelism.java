package org.mefgateway.hsm;

import java.security.Signature;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.concurrent.atomic.LongAdder;

/**
 * Measures how many concurrent signers a token rewards, for {@code signerThreads: 0}. More
 * workers than the token's parallelism only add queueing inside the PKCS#11 module, and past
 * SunPKCS11's five idle operation sessions they make it open and close a session per signature.
 * We double the thread count from one while throughput still grows by at least 10% (SoftHSM's
 * P-256 signing on this 2-core machine was faster with one thread than with two), up to four:
 * past SunPKCS11's five idle sessions per provider instance more threads churn sessions. An
 * operator who measured more on a network HSM sets the number. The measurement shares the machine
 * with whatever else runs at start; on a busy machine set the number. What was measured is logged
 * with the choice ({@link Measurement#summary}), so the choice can be checked against the rule.
 */
final class Parallelism {
    private static final long SAMPLE_NANOS = 200_000_000L;
    private static final double WORTHWHILE_GAIN = 1.10;
    private static final int MAX_THREADS = 4;

    private Parallelism() {
    }

    /**
     * What {@link #measure} found: the signatures per second at each thread count it tried, in the
     * order tried, and the count it chose.
     */
    record Measurement(int threads, Map<Integer, Double> rates) {
        /**
         * "1: 2345/s, 2: 2100/s": each rate is a whole number (signatures counted in 200 ms, times 5),
         * so the summary holds exactly the numbers the choice was made on.
         */
        String summary() {
            return rates.entrySet().stream().map(e -> e.getKey() + ": " + Math.round(e.getValue()) + "/s")
                    .collect(Collectors.joining(", "));
        }
    }

    static Measurement measure(CaKey key) throws HsmException {
        rate(key, 1); // warms up the JIT and the provider's session pool; not counted
        Map<Integer, Double> rates = new LinkedHashMap<>();
        int best = 1;
        double bestRate = rate(key, 1);
        rates.put(1, bestRate);
        for (int threads = 2; threads <= MAX_THREADS; threads = 2 * best) {
            double r = rate(key, threads);
            rates.put(threads, r);
            if (r < bestRate * WORTHWHILE_GAIN) {
                break;
            }
            best = threads;
            bestRate = r;
        }
        return new Measurement(best, rates);
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
