package org.mefgateway.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.RegisteredEnrolee;

/**
 * How large the embedded H2 file is while the gateway runs, per certificate in it: the store
 * writes of one first enrolment each, as the gateway makes them (registration, challenge, claim,
 * group-committed ledger entry with its audit event, command result), {@value #IN_FLIGHT} at once
 * on {@value #WORKERS} store workers (the defaults of est.maxInFlight and store.poolSize). The
 * file's size is printed at each checkpoint count while the store is open, after
 * {@value #IDLE_SECONDS} s idle, after a clean stop, and compacted (what the data needs). No HSM:
 * the certificate is {@value #DER_BYTES} random bytes, the size of a P-256 leaf certificate of
 * the bench profile. {@code -Dbench.perSecond=N} paces the enrolments (0: as fast as the store
 * goes); {@code -Dbench.h2Settings=...} replaces {@link Store#H2_FILE_SIZE_SETTINGS} (empty: H2's
 * defaults). Run by {@code ops/bench store-file} (README "Store file size").
 */
public final class StoreFileBench {
    private static final int IN_FLIGHT = 64;
    private static final int WORKERS = 8;
    private static final int DER_BYTES = 620;
    private static final int IDLE_SECONDS = 10;

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: StoreFileBench EMPTY_DIRECTORY COUNT[,COUNT...]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int perSecond = Integer.getInteger("bench.perSecond", 0);
        // bench.h2Settings replaces the store's file-size settings: "" measures H2's defaults (before).
        String settings = System.getProperty("bench.h2Settings", Store.H2_FILE_SIZE_SETTINGS);
        String url = Store.h2Url(dir.resolve("mef")).replace(Store.H2_FILE_SIZE_SETTINGS, settings);
        List<Integer> checkpoints = java.util.Arrays.stream(args[1].split(",")).map(Integer::valueOf).sorted().toList();
        Path file = dir.resolve("mef.mv.db");
        SecureRandom random = new SecureRandom();
        ExecutorService workers = Executors.newFixedThreadPool(WORKERS);
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        System.out.println("url " + url + (perSecond > 0 ? ", at most " + perSecond + " enrolments/s" : ", as fast as it goes"));
        System.out.printf(Locale.ROOT, "%12s %10s %14s %12s %12s   %s%n", "certificates", "seconds", "file bytes", "bytes/cert", "largest seen",
                "H2: written, fill rate, chunks fill rate, chunks");
        long start = System.nanoTime();
        long largest = 0;
        int issued = 0;
        try (Store store = Store.open(url, "sa", "", WORKERS, new SimpleMeterRegistry());
             Connection info = DriverManager.getConnection(url, "sa", "")) {
            for (int checkpoint : checkpoints) {
                for (; issued < checkpoint; issued++) {
                    if (perSecond > 0) {
                        long due = start + issued * 1_000_000_000L / perSecond;
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        }
                    }
                    inFlight.acquire();
                    if (failure.get() != null) {
                        throw new IllegalStateException("an enrolment failed", failure.get());
                    }
                    int n = issued;
                    CompletableFuture.supplyAsync(() -> enrolment(store, n, random), workers)
                            .thenCompose(cert -> store.recordIssuance(cert).thenApply(v -> cert))
                            .thenAcceptAsync(cert -> store.recordCommandResult(cert.enroleeId(), StoredEnrolee.CommandResult.OK), workers)
                            .whenComplete((v, e) -> {
                                if (e != null) {
                                    failure.compareAndSet(null, e);
                                }
                                inFlight.release();
                            });
                    if (n % 1000 == 0) {
                        largest = Math.max(largest, Files.size(file));
                    }
                }
                inFlight.acquire(IN_FLIGHT);
                inFlight.release(IN_FLIGHT);
                long size = Files.size(file);
                largest = Math.max(largest, size);
                System.out.printf(Locale.ROOT, "%12d %10.0f %14d %12d %12d   %s%n", checkpoint, (System.nanoTime() - start) / 1e9, size,
                        size / checkpoint, largest, h2Info(info));
            }
            // The store's background compaction, idle: it must settle, not rewrite the file forever.
            Thread.sleep(IDLE_SECONDS * 1000L);
            long idle = Files.size(file);
            System.out.printf(Locale.ROOT, "%12s %10s %14d %12d %12s   %s%n", "idle " + IDLE_SECONDS + " s", "", idle, idle / issued, "",
                    h2Info(info));
        } finally {
            workers.shutdown();
        }
        long stopped = Files.size(file);
        System.out.printf(Locale.ROOT, "%12s %10s %14d %12d%n", "after stop", "", stopped, stopped / issued);
        // What the data itself needs: H2 rewrites the file with only the live pages.
        try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement s = c.createStatement()) {
            s.execute("SHUTDOWN COMPACT");
        }
        long compacted = Files.size(file);
        System.out.printf(Locale.ROOT, "%12s %10s %14d %12d%n", "compacted", "", compacted, compacted / issued);
    }

    /** What H2 says about its file: bytes written so far, fill rates, chunk count. */
    private static String h2Info(Connection c) throws SQLException {
        StringBuilder out = new StringBuilder();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT SETTING_NAME, SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS "
                + "WHERE SETTING_NAME IN ('info.FILE_WRITE_BYTES', 'info.FILL_RATE', 'info.CHUNKS_FILL_RATE', 'info.CHUNK_COUNT') ORDER BY SETTING_NAME")) {
            while (rs.next()) {
                out.append(rs.getString(1).substring(5)).append('=').append(rs.getString(2)).append(' ');
            }
        }
        return out.toString().trim();
    }

    /** The writes before signing: the operator's registration, csrattrs' challenge, the claim. */
    private static IssuedCertificate enrolment(Store store, int n, SecureRandom random) {
        String id = "device-" + n;
        Instant now = Instant.now();
        byte[] fingerprint = new byte[32];
        random.nextBytes(fingerprint);
        byte[] challenge = new byte[32];
        random.nextBytes(challenge);
        String challengeHash = HexFormat.of().formatHex(challenge);
        String subjectId = "//m2m.example.com/CSE1/" + id;
        store.registerEnrolee(new StoredEnrolee(new RegisteredEnrolee(id, CertSubjectType.AE_ID, subjectId, Set.of(40)),
                HexFormat.of().formatHex(fingerprint), StoredEnrolee.Command.CERT_PROV, now, Optional.empty(), List.of("default"), now,
                        StoredEnrolee.CertProvProtocol.EST),
                new AuditEvent.Draft(now, "enrolee.registered", "operator:bench", "enrolee:" + id, "")).toCompletableFuture().join();
        store.saveChallenge(challengeHash, id, now, now.plus(Duration.ofMinutes(10)));
        if (store.beginIssuance(challengeHash, id, true, now) != Store.Claim.CLAIMED) {
            throw new IllegalStateException("claim refused for " + id);
        }
        byte[] der = new byte[DER_BYTES];
        random.nextBytes(der);
        byte[] requestKey = new byte[32];
        random.nextBytes(requestKey);
        return new IssuedCertificate(Serials.next().toString(16), id, "default", "CN=" + subjectId, "URI:" + subjectId, now,
                now.plus(Duration.ofDays(365)), IssuedCertificate.Status.ISSUED, now, der, Optional.of(HexFormat.of().formatHex(requestKey)));
    }

    private StoreFileBench() {
    }
}
