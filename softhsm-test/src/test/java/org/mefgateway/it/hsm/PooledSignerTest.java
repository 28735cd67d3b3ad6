package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.security.Signature;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.HsmBusyException;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.KeyAlgorithm;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.it.SoftHsm;

/** The pooled signer on a real SoftHSM2 token: correct signatures under concurrency, bounded sessions, visible overload. */
class PooledSignerTest {
    static SoftHsm hsm;
    static Pkcs11Sessions sessions;

    @BeforeAll
    static void createKeys() throws Exception {
        hsm = SoftHsm.fresh("pool-test");
        long slot;
        try (Pkcs11Token token = Pkcs11Token.open(config("ca-p256", 1, 1))) {
            token.createSelfSignedCa("CN=Pool Test EC CA", Duration.ofDays(1), KeyAlgorithm.EC_P256);
            slot = token.slot();
        }
        try (Pkcs11Token token = Pkcs11Token.open(config("ca-rsa", 1, 1))) {
            token.createSelfSignedCa("CN=Pool Test RSA CA", Duration.ofDays(1), KeyAlgorithm.RSA_2048);
        }
        sessions = new Pkcs11Sessions(SoftHsm.LIBRARY, slot);
    }

    static HsmConfig config(String keyLabel, int threads, int queue) {
        return new HsmConfig(SoftHsm.LIBRARY, hsm.tokenLabel, keyLabel, Optional.empty(), Optional.of(hsm.pinFile), threads, queue);
    }

    static CaSigner signer(String keyLabel, int threads, int queue, io.micrometer.core.instrument.MeterRegistry meters) throws Exception {
        return CaSigner.open(new CaKeyConfig(CaKeyConfig.DEFAULT, List.of(config(keyLabel, threads, queue))), meters);
    }

    static boolean verifies(CaSigner signer, byte[] message, byte[] signature) throws Exception {
        String algorithm = signer.publicKey().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        Signature v = Signature.getInstance(algorithm);
        v.initVerify(signer.publicKey());
        v.update(message);
        return v.verify(signature);
    }

    static byte[] message(int i) {
        return ByteBuffer.allocate(300).putInt(i).array();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ca-p256", "ca-rsa"})
    void signaturesRequestedFromSixteenThreadsAllVerifyUnderTheCaKey(String keyLabel) throws Exception {
        int perThread = keyLabel.equals("ca-rsa") ? 20 : 100;
        try (CaSigner signer = signer(keyLabel, 2, 4096, new SimpleMeterRegistry())) {
            ExecutorService callers = Executors.newFixedThreadPool(16);
            List<Future<Integer>> verified = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int thread = t;
                verified.add(callers.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < perThread; i++) {
                        byte[] m = message(thread * 100_000 + i);
                        if (verifies(signer, m, signer.sign(m).toCompletableFuture().get(30, TimeUnit.SECONDS))) {
                            ok++;
                        }
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : verified) {
                total += f.get();
            }
            callers.shutdown();
            assertEquals(16 * perThread, total, "every signature verifies with the CA certificate's public key");
        }
    }

    /**
     * SoftHSM has no session limit, so a leak would not fail a signature: we count the sessions on
     * the slot while 10,000 signatures run and afterwards. Each worker holds at most one operation
     * session at a time; SunPKCS11 keeps them idle in its pool between signatures. The count is of
     * the whole process, so earlier providers' sessions are part of {@code before}.
     */
    @Test
    void openSessionsStayBoundedUnderLoadAndAfterIt() throws Exception {
        int threads = 2;
        int before = sessions.open();
        try (CaSigner signer = signer("ca-p256", threads, 1024, new SimpleMeterRegistry())) {
            signer.sign(message(0)).toCompletableFuture().get(10, TimeUnit.SECONDS);
            int idle = sessions.open();
            AtomicBoolean done = new AtomicBoolean();
            AtomicInteger signed = new AtomicInteger();
            Thread load = new Thread(() -> {
                Semaphore window = new Semaphore(64);
                for (int i = 0; i < 10_000; i++) {
                    window.acquireUninterruptibly();
                    signer.sign(message(i)).whenComplete((s, e) -> {
                        if (e == null) {
                            signed.incrementAndGet();
                        }
                        window.release();
                    });
                }
                window.acquireUninterruptibly(64);
                done.set(true);
            });
            load.start();
            int most = 0;
            int samples = 0;
            while (!done.get()) {
                most = Math.max(most, sessions.open());
                samples++;
                Thread.sleep(20);
            }
            load.join();
            int after = sessions.open();
            assertEquals(10_000, signed.get());
            assertTrue(samples > 0);
            // Our share: one object session of the provider's key store, one operation session per worker.
            int bound = before + 1 + threads;
            assertTrue(idle <= bound, "sessions before the signer: " + before + ", with it idle: " + idle);
            assertTrue(most <= bound, "sessions under load: " + most + " (bound " + bound + ")");
            assertTrue(after <= bound, "sessions after 10,000 signatures: " + after + " (bound " + bound + ")");
        }
    }

    /**
     * One worker, a queue of {@value #QUEUE}. The worker is held first, inside the completion of a
     * signature (a dependent action registered before a future completes runs on the thread that
     * completes it: the worker), so the queue is empty and nothing leaves it. Then, of 50 more
     * requests, exactly the first {@value #QUEUE} are queued and every other one is refused at once:
     * its future has already failed with HsmBusyException when sign returns. Released, the worker
     * signs the {@value #QUEUE} queued ones, and all 1 + {@value #QUEUE} verify.
     */
    @Test
    void aFullQueueIsRefusedAtOnceAsBusyAndEverythingAcceptedIsSigned() throws Exception {
        int more = 50;
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (CaSigner signer = signer("ca-rsa", 1, QUEUE, meters)) {
            CountDownLatch release = new CountDownLatch(1);
            try {
                byte[] first = message(-1);
                CompletableFuture<byte[]> held = holdTheWorker(signer, first, release);

                List<byte[]> messages = new ArrayList<>();
                List<CompletableFuture<byte[]>> results = new ArrayList<>();
                for (int i = 0; i < more; i++) {
                    messages.add(message(i));
                    results.add(signer.sign(messages.get(i)).toCompletableFuture());
                }
                for (int i = 0; i < more; i++) {
                    if (i < QUEUE) {
                        assertFalse(results.get(i).isDone(), "request " + i + " waits in the queue");
                    } else {
                        assertTrue(results.get(i).isCompletedExceptionally(), "request " + i + " refused at once: " + results.get(i));
                        ExecutionException refused = assertThrows(ExecutionException.class, results.get(i)::get);
                        assertInstanceOf(HsmBusyException.class, refused.getCause());
                    }
                }
                assertEquals(QUEUE, meters.get("mef.hsm.queue.depth").gauge().value(), "the queue is full");
                assertEquals(1, meters.get("mef.hsm.pool.in.use").gauge().value(), "the worker is busy");
                assertEquals(more - QUEUE, meters.get("mef.hsm.rejected").tag("reason", "busy").counter().count(),
                        "every refusal counted as busy");

                release.countDown();
                assertTrue(verifies(signer, first, held.get(30, TimeUnit.SECONDS)), "the held signature");
                for (int i = 0; i < QUEUE; i++) {
                    assertTrue(verifies(signer, messages.get(i), results.get(i).get(30, TimeUnit.SECONDS)), "queued request " + i);
                }
            } finally {
                release.countDown();
            }
        }
    }

    static final int QUEUE = 2;

    /**
     * Signs {@code message} and holds the only worker inside that signature's completion until
     * {@code release}. When the signature completes before the action is registered, the action
     * runs on the caller instead and holds nothing: then another signature is tried.
     */
    private static CompletableFuture<byte[]> holdTheWorker(CaSigner signer, byte[] message, CountDownLatch release) throws Exception {
        Thread caller = Thread.currentThread();
        for (int attempt = 0; attempt < 100; attempt++) {
            CompletableFuture<byte[]> signed = signer.sign(message).toCompletableFuture();
            CountDownLatch ran = new CountDownLatch(1);
            AtomicBoolean onWorker = new AtomicBoolean();
            signed.thenRun(() -> {
                onWorker.set(Thread.currentThread() != caller);
                ran.countDown();
                if (onWorker.get()) {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            assertTrue(ran.await(30, TimeUnit.SECONDS), "the signature completed");
            if (onWorker.get()) {
                return signed;
            }
        }
        throw new AssertionError("every signature completed before its action was registered: the worker was never held");
    }

    @Test
    void meterNamesFollowPrometheusConventions() throws Exception {
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (CaSigner signer = signer("ca-p256", 2, 16, meters)) {
            for (int i = 0; i < 25; i++) {
                signer.sign(message(i)).toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            String scrape = meters.scrape();
            String tags = "key=\"default\",token=\"pool-test\"";
            assertTrue(scrape.contains("mef_hsm_sign_seconds_count{" + tags + "} 25"), scrape);
            assertTrue(scrape.contains("mef_hsm_sign_seconds_bucket{" + tags), "a histogram: " + scrape);
            assertTrue(scrape.contains("mef_hsm_pool_in_use{" + tags + "}"), scrape);
            assertTrue(scrape.contains("mef_hsm_pool_size{" + tags + "} 2"), scrape);
            assertTrue(scrape.contains("mef_hsm_queue_depth{" + tags + "} 0"), scrape);
            assertTrue(scrape.contains("mef_hsm_circuit_state{" + tags + "} 0"), scrape);
            assertTrue(scrape.contains("mef_hsm_reinitialisations_total{key=\"default\",outcome=\"success\",token=\"pool-test\"} 0"), scrape);
            assertTrue(scrape.contains("mef_hsm_module_reloads_total{" + tags + "} 0"), scrape);
        }
        assertTrue(!meters.scrape().contains("mef_hsm_pool_size"), "a closed signer's meters are removed");
    }

    /**
     * A signer closed while its workers are being measured (a gateway stopped right after its
     * start) waits for the measurement, which then sizes nothing: the pool stays at one worker and
     * the measuring thread ends.
     */
    @Test
    void closingWhileMeasuringSizesNothing() throws Exception {
        CaSigner signer = signer("ca-p256", HsmConfig.AUTO_THREADS, 16, new SimpleMeterRegistry());
        Thread measuring = new Thread(signer::measureWorkers, "test-measure");
        measuring.start();
        signer.close();
        measuring.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(measuring.isAlive(), "the measurement ended");
        assertEquals(1, signer.threads());
    }

    /**
     * signerThreads: auto (Parallelism): one thread, then doubling while the rate grows by at least
     * 10% over the best so far, at most 4; the last count that grew is chosen. The signer logs the
     * rates it measured; the count it chose is exactly what the rule gives for them, and the counts
     * it measured are exactly those the rule tries. Until measureWorkers has run (the gateway runs
     * it in the background once listening, so readiness never waits for it) the signer signs with
     * one worker.
     */
    @Test
    void poolSizeAutoIsWhatTheDoublingRuleGivesForTheRatesItMeasured() throws Exception {
        String log;
        int threads;
        int threadsBeforeMeasuring;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                captured.write(b);
                err.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                captured.write(b, off, len);
                err.write(b, off, len);
            }
        }, true));
        try (CaSigner signer = signer("ca-p256", HsmConfig.AUTO_THREADS, 16, new SimpleMeterRegistry())) {
            threadsBeforeMeasuring = signer.threads();
            byte[] before = message(1);
            assertTrue(verifies(signer, before, signer.sign(before).toCompletableFuture().get(10, TimeUnit.SECONDS)));
            signer.measureWorkers();
            threads = signer.threads();
            byte[] m = message(2);
            assertTrue(verifies(signer, m, signer.sign(m).toCompletableFuture().get(10, TimeUnit.SECONDS)));
        } finally {
            System.setErr(err);
        }
        log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, threadsBeforeMeasuring, "one worker until measured");
        assertTrue(log.contains("CA key 'default' on token 'pool-test': 1 signing workers until the token's parallelism is measured"
                + " (signerThreads: auto), queue 16"), log);
        Matcher line = Pattern.compile("CA key 'default' on token 'pool-test': (\\d+) signing workers "
                + "\\(measured, signatures per second by workers: ([^)]*)\\), queue 16").matcher(log);
        assertTrue(line.find(), "the measurement is logged: " + log);
        Map<Integer, Double> rates = new LinkedHashMap<>();
        for (String rate : line.group(2).split(", ")) {
            Matcher r = Pattern.compile("(\\d+): (\\d+)/s").matcher(rate);
            assertTrue(r.matches(), rate);
            rates.put(Integer.parseInt(r.group(1)), Double.parseDouble(r.group(2)));
        }
        List<Integer> tried = new ArrayList<>(List.of(1));
        int best = 1;
        double bestRate = rates.get(1);
        for (int t = 2; t <= 4; t = 2 * best) {
            tried.add(t);
            if (!rates.containsKey(t) || rates.get(t) < bestRate * 1.10) {
                break;
            }
            best = t;
            bestRate = rates.get(t);
        }
        assertEquals(tried, List.copyOf(rates.keySet()), "the thread counts measured are those the rule tries: " + line.group());
        assertEquals(best, threads, "the rule's choice for " + rates);
        assertEquals(best, Integer.parseInt(line.group(1)), line.group());
    }
}
