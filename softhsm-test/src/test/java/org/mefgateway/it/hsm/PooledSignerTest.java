package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.ByteBuffer;
import java.security.Signature;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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

    @Test
    void aFullQueueIsRefusedAtOnceAsBusyAndEverythingAcceptedIsSigned() throws Exception {
        try (CaSigner signer = signer("ca-rsa", 1, 2, new SimpleMeterRegistry())) {
            List<byte[]> messages = new ArrayList<>();
            List<CompletableFuture<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                messages.add(message(i));
                results.add(signer.sign(messages.get(i)).toCompletableFuture());
            }
            int busy = 0;
            int signed = 0;
            for (int i = 0; i < results.size(); i++) {
                try {
                    assertTrue(verifies(signer, messages.get(i), results.get(i).get(30, TimeUnit.SECONDS)));
                    signed++;
                } catch (java.util.concurrent.ExecutionException e) {
                    assertInstanceOf(HsmBusyException.class, e.getCause());
                    busy++;
                }
            }
            assertTrue(busy > 0, "50 RSA signatures cannot all fit one worker and a queue of 2");
            // 2 or 3: whether the worker has taken the first request off the queue before the
            // third arrives is up to the scheduler (a 2-core machine under load saw 2).
            assertTrue(signed >= 2, "the queue's capacity was accepted and signed: " + signed);
        }
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
        }
        assertTrue(!meters.scrape().contains("mef_hsm_pool_size"), "a closed signer's meters are removed");
    }

    @Test
    void poolSizeAutoMeasuresTheToken() throws Exception {
        try (CaSigner signer = signer("ca-p256", HsmConfig.AUTO_THREADS, 16, new SimpleMeterRegistry())) {
            int threads = signer.threads();
            assertTrue(threads >= 1 && threads <= 4, "measured " + threads);
            byte[] m = message(1);
            assertTrue(verifies(signer, m, signer.sign(m).toCompletableFuture().get(10, TimeUnit.SECONDS)));
        }
    }


}
