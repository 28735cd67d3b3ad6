package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.HsmUnavailableException;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.hsm.WrongKeyException;
import org.mefgateway.it.SoftHsm;

/**
 * Token faults in the middle of signing, on real SoftHSM2 tokens.
 *
 * <p>What is real and what is staged: the fault is real — the test closes every PKCS#11 session of
 * this process on the token's slot through the JDK's own wrapper (the same module instance the
 * signer's SunPKCS11 providers use), which also logs the process out, as an HSM restart or a
 * dropped network-HSM connection would. The errors the signer then meets are SoftHSM's own
 * CKR_SESSION_HANDLE_INVALID / CKR_USER_NOT_LOGGED_IN; nothing is mocked. What is staged is how
 * long the HSM stays away: SoftHSM reads its token directory only at C_Initialize, once per JVM, so
 * the token cannot really vanish and come back. While the test withholds the PIN file, every
 * re-initialisation fails at its login step, so the circuit stays open exactly as it would while
 * an HSM is down; giving the file back is the HSM coming back.
 */
class TokenFaultTest {
    static SoftHsm solo;
    static SoftHsm pair1;
    static SoftHsm pair2;
    static SoftHsm other;

    @BeforeAll
    static void tokens() throws Exception {
        // SoftHSM lists the tokens that exist at C_Initialize: create all of them first.
        solo = SoftHsm.fresh("fault-solo");
        pair1 = solo.addToken("fault-pair-1");
        pair2 = solo.addToken("fault-pair-2");
        other = solo.addToken("fault-other");
        try (Pkcs11Token t = Pkcs11Token.open(config(solo, 2))) {
            t.createSelfSignedCa("CN=Fault Test CA", Duration.ofDays(1));
        }
        try (Pkcs11Token t = Pkcs11Token.open(config(other, 2))) {
            t.createSelfSignedCa("CN=Fault Test CA", Duration.ofDays(1));
        }
        // An HSM cluster replicates one key to its members (by backup or key wrapping); here the
        // same software-made key is imported into both tokens of the pair.
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair shared = kpg.generateKeyPair();
        X509Certificate cert = selfSigned(shared);
        for (SoftHsm token : List.of(pair1, pair2)) {
            importKey(token, shared, cert);
        }
    }

    static HsmConfig config(SoftHsm token, int threads) {
        return new HsmConfig(SoftHsm.LIBRARY, token.tokenLabel, "ca", Optional.empty(), Optional.of(token.pinFile), threads, 256);
    }

    /** The slot without logging out afterwards: logging out would log out the whole process. */
    static long slot(SoftHsm token) throws Exception {
        return Pkcs11Token.open(config(token, 1)).slot();
    }

    @Test
    void aFaultMidLoadFailsFastWhileTheTokenIsDownThenSigningRecoversWithoutRestart() throws Exception {
        MeterRegistry meters = new SimpleMeterRegistry();
        Pkcs11Sessions sessions = new Pkcs11Sessions(SoftHsm.LIBRARY, slot(solo));
        try (CaSigner signer = CaSigner.open(new CaKeyConfig("default", List.of(config(solo, 2))), meters);
             Load load = new Load(signer)) {
            load.until(() -> load.verified.get() >= 500);
            int sessionsBefore = sessions.open();

            Path withheld = solo.pinFile.resolveSibling("user.pin.withheld");
            Files.move(solo.pinFile, withheld);
            sessions.closeAll();
            load.until(() -> !signer.available());

            // While the token is down, requests fail at once: the token is not even asked.
            double signedBefore = meters.get("mef.hsm.sign").timer().count();
            for (int i = 0; i < 100; i++) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> signer.sign(new byte[] {1}).toCompletableFuture().get(5, TimeUnit.SECONDS));
                assertInstanceOf(HsmUnavailableException.class, e.getCause());
            }
            assertEquals(signedBefore, meters.get("mef.hsm.sign").timer().count(), "no signature attempted while the circuit is open");
            // The HSM stays away until re-initialisation has failed twice (and backed off).
            load.until(() -> meters.get("mef.hsm.reinitialisations").tag("outcome", "failure").counter().count() >= 2);
            assertEquals(0.0, meters.get("mef.hsm.reinitialisations").tag("outcome", "success").counter().count(),
                    "no login without the PIN");
            assertFalse(signer.available());

            Files.move(withheld, solo.pinFile);
            load.until(signer::available);
            int afterRecovery = load.verified.get();
            load.until(() -> load.verified.get() >= afterRecovery + 500);
            load.stop();

            assertEquals(0, load.wrongSignatures.get(), "every returned signature verifies under the CA key");
            assertEquals(Map.of("HsmUnavailableException", load.failures.getOrDefault("HsmUnavailableException", 0)),
                    Map.copyOf(load.failures), "the only failures are fast 'unavailable' refusals");
            assertEquals(1.0, meters.get("mef.hsm.reinitialisations").tag("outcome", "success").counter().count());
            double tokenErrors = meters.find("mef.hsm.errors").counters().stream()
                    .filter(c -> List.of("CKR_SESSION_HANDLE_INVALID", "CKR_USER_NOT_LOGGED_IN").contains(c.getId().getTag("ckr")))
                    .mapToDouble(c -> c.count()).sum();
            assertTrue(tokenErrors >= 1, "the fault was seen as SoftHSM's own CKR codes: " + meters.find("mef.hsm.errors").counters());
            // The fault closed the old provider's sessions; the new provider holds no more than it did.
            int sessionsAfter = sessions.open();
            assertTrue(sessionsAfter <= sessionsBefore, "sessions before the fault " + sessionsBefore + ", after recovery " + sessionsAfter);
        }
    }

    @Test
    void withTheKeyOnTwoTokensAFaultOnOneIsAbsorbedByTheOther() throws Exception {
        MeterRegistry meters = new SimpleMeterRegistry();
        Pkcs11Sessions first = new Pkcs11Sessions(SoftHsm.LIBRARY, slot(pair1));
        try (CaSigner signer = CaSigner.open(new CaKeyConfig("default", List.of(config(pair1, 1), config(pair2, 1))), meters);
             Load load = new Load(signer)) {
            load.until(() -> load.verified.get() >= 500);
            first.closeAll();
            load.until(() -> meters.find("mef.hsm.reinitialisations").tags("token", "fault-pair-1", "outcome", "success")
                    .counter().count() >= 1);
            int afterRecovery = load.verified.get();
            load.until(() -> load.verified.get() >= afterRecovery + 500);
            load.stop();

            assertEquals(0, load.wrongSignatures.get());
            assertEquals(Map.of(), Map.copyOf(load.failures), "requests on the failed token were signed by the other one");
            assertTrue(meters.find("mef.hsm.errors").tag("token", "fault-pair-1").counters().stream().mapToDouble(c -> c.count()).sum() >= 1,
                    "the first token did fail");
            assertTrue(meters.get("mef.hsm.sign").tag("token", "fault-pair-2").timer().count() > 0);
        }
    }

    @Test
    void aTokenHoldingAnotherKeyUnderTheSameLabelIsNeverUsed() {
        WrongKeyException e = assertThrows(WrongKeyException.class, () -> CaSigner.open(
                new CaKeyConfig("default", List.of(config(solo, 1), config(other, 1))), new SimpleMeterRegistry()));
        assertTrue(e.getMessage().contains("fault-other"), e.getMessage());
    }

    /** Keeps 32 signatures in flight, verifies every one that comes back, and counts failures by type. */
    static final class Load implements AutoCloseable {
        final AtomicInteger verified = new AtomicInteger();
        final AtomicInteger wrongSignatures = new AtomicInteger();
        final Map<String, Integer> failures = new ConcurrentHashMap<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Load(CaSigner signer) {
            thread = new Thread(() -> {
                Semaphore window = new Semaphore(32);
                int i = 0;
                while (running.get()) {
                    window.acquireUninterruptibly();
                    byte[] m = ByteBuffer.allocate(200).putInt(i++).array();
                    signer.sign(m).whenComplete((s, e) -> {
                        if (e != null) {
                            Throwable cause = e.getCause() != null && e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
                            failures.merge(cause.getClass().getSimpleName(), 1, Integer::sum);
                        } else if (verifies(signer, m, s)) {
                            verified.incrementAndGet();
                        } else {
                            wrongSignatures.incrementAndGet();
                        }
                        window.release();
                    });
                }
                window.acquireUninterruptibly(32);
            }, "test-load");
            thread.start();
        }

        /** Waits (up to a minute, so a broken signer fails the test instead of hanging it) for a condition. */
        void until(BooleanSupplier condition) throws InterruptedException {
            Instant deadline = Instant.now().plusSeconds(60);
            while (!condition.getAsBoolean()) {
                assertTrue(Instant.now().isBefore(deadline), "condition not reached within a minute");
                Thread.sleep(10);
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join();
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }

        private static boolean verifies(CaSigner signer, byte[] m, byte[] s) {
            try {
                Signature v = Signature.getInstance("SHA256withECDSA");
                v.initVerify(signer.publicKey());
                v.update(m);
                return v.verify(s);
            } catch (Exception e) {
                return false;
            }
        }
    }

    private static X509Certificate selfSigned(KeyPair pair) throws Exception {
        X500Name name = new X500Name("CN=Fault Test Cluster CA");
        Instant now = Instant.now();
        return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, java.math.BigInteger.ONE,
                Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))), name, pair.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
    }

    private static void importKey(SoftHsm token, KeyPair pair, X509Certificate cert) throws Exception {
        Provider p = Security.getProvider("SunPKCS11").configure("--name = import-" + token.tokenLabel
                + "\nlibrary = " + SoftHsm.LIBRARY + "\nslot = " + slot(token) + "\n");
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, Files.readString(token.pinFile).toCharArray());
        ks.setKeyEntry("ca", pair.getPrivate(), null, new Certificate[] {cert});
    }
}
