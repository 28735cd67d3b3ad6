package org.mefgateway.it.ledger;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.it.SoftHsm;
import org.mefgateway.it.TestCsr;
import org.mefgateway.it.TestDatabase;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.SubjectAltName;

/**
 * {@code ops/bench ledger}: what the durable ledger costs an issuance. The CA's issuance path as
 * the Registration Authority drives it (TBSCertificate, HSM signature on SoftHSM2, then
 * {@link Store#recordIssuance} with group commit, durable: H2 synced to disk, PostgreSQL with
 * synchronous_commit on), against the same path without the ledger, alternated in rounds in one
 * JVM so both see the same machine. Not part of the test suite (the name does not end in Test):
 * run by ops/bench.d/ledger. Prints and writes target/bench/ledger.txt.
 */
class LedgerBench {
    static final int ISSUANCES = Integer.getInteger("bench.issuances", 1500);
    static final int IN_FLIGHT = Integer.getInteger("bench.inFlight", 32);
    static final int ROUNDS = Integer.getInteger("bench.rounds", 3);

    @Test
    void ledger() throws Exception {
        SoftHsm hsm = SoftHsm.fresh("mef-bench");
        Path dir = hsm.dir;
        try (Pkcs11Token token = Pkcs11Token.open(hsm.config("ca-p256"))) {
            token.createSelfSignedCa("CN=Bench CA", Duration.ofDays(30));
        }
        HsmConfig tokenConfig = new HsmConfig(SoftHsm.LIBRARY, hsm.tokenLabel, "ca-p256", java.util.Optional.empty(),
                java.util.Optional.of(hsm.pinFile), 2, 8192);
        {
            try (CaSigner signer = CaSigner.open(new CaKeyConfig(CaKeyConfig.DEFAULT, List.of(tokenConfig)), new SimpleMeterRegistry())) {
                CertificateAuthority ca = new CertificateAuthority(signer);
                KeyPair subjectKey = TestCsr.keys("EC", new java.security.spec.ECGenParameterSpec("secp256r1"));
                Instant now = Instant.now();
                CertificateTemplate template = new CertificateTemplate("CN=//m2m.example.com/CSE1/bench",
                        List.of(new SubjectAltName(SubjectAltName.Kind.URI, "//m2m.example.com/CSE1/bench")), List.of("1.3.6.1.5.5.7.3.2"),
                        true, now, now.plus(Duration.ofDays(7)), subjectKey.getPublic().getEncoded(), List.of(), List.of(), List.of(),
                        List.of());

                List<String> lines = new ArrayList<>();
                lines.add(String.format(Locale.ROOT, "%-11s %14s %14s %7s %11s", "database", "no ledger/s", "durable/s", "ratio", "batch mean"));
                SimpleMeterRegistry h2Meters = new SimpleMeterRegistry();
                try (Store h2 = Store.open(Store.h2Url(dir.resolve("bench-db")), "sa", "", 8, h2Meters)) {
                    lines.add(measure("H2 file", ca, template, h2, h2Meters));
                }
                TestDatabase postgres = TestDatabase.postgres();
                SimpleMeterRegistry pgMeters = new SimpleMeterRegistry();
                try (Store pg = Store.open(postgres.newDatabase(), "postgres", "", 8, pgMeters)) {
                    lines.add(measure("PostgreSQL", ca, template, pg, pgMeters));
                }
                lines.add("");
                lines.add(String.format(Locale.ROOT, "%d issuances per round, %d in flight, median of %d alternating rounds; "
                        + "%d cores, Java %s; HSM SoftHSM2, signer threads 2", ISSUANCES, IN_FLIGHT, ROUNDS,
                        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version")));
                String table = String.join("\n", lines) + "\n";
                System.out.print(table);
                Path out = Path.of("target", "bench", "ledger.txt");
                Files.createDirectories(out.getParent());
                Files.writeString(out, table);
            }
        }
    }

    private String measure(String name, CertificateAuthority ca, CertificateTemplate template, Store store, SimpleMeterRegistry meters)
            throws Exception {
        run(ca, template, null, 300);  // warm-up of both paths
        run(ca, template, store, 300);
        List<Double> without = new ArrayList<>();
        List<Double> with = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            // Alternate which goes first, so neither always gets the warmer (or noisier) slot.
            if (round % 2 == 0) {
                without.add(run(ca, template, null, ISSUANCES));
                with.add(run(ca, template, store, ISSUANCES));
            } else {
                with.add(run(ca, template, store, ISSUANCES));
                without.add(run(ca, template, null, ISSUANCES));
            }
        }
        double a = median(without);
        double b = median(with);
        DistributionSummary batch = meters.find("mef.store.commit.batch.size").summary();
        return String.format(Locale.ROOT, "%-11s %14.0f %14.0f %7.2f %11.1f", name, a, b, b / a, batch == null ? 0 : batch.mean());
    }

    /** Issues {@code n} certificates with at most IN_FLIGHT outstanding; returns issuances per second. */
    private static double run(CertificateAuthority ca, CertificateTemplate t, Store ledger, int n) throws Exception {
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        CountDownLatch done = new CountDownLatch(n);
        AtomicInteger failed = new AtomicInteger();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            inFlight.acquire();
            BigInteger serial = Serials.next();
            CompletionStage<byte[]> signed = ca.sign(ca.prepare(t, serial));
            CompletionStage<?> finished = ledger == null ? signed : signed.thenCompose(der -> ledger.recordIssuance(new IssuedCertificate(
                    serial.toString(16), "bench", "default", t.subject(), "URI://m2m.example.com/CSE1/bench", t.notBefore(), t.notAfter(),
                    IssuedCertificate.Status.ISSUED, Instant.now(), der, java.util.Optional.empty())));
            finished.whenComplete((v, e) -> {
                if (e != null) {
                    failed.incrementAndGet();
                }
                inFlight.release();
                done.countDown();
            });
        }
        if (!done.await(10, TimeUnit.MINUTES) || failed.get() > 0) {
            throw new IllegalStateException(failed.get() + " issuances failed");
        }
        return n / ((System.nanoTime() - start) / 1e9);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
