package org.mefgateway.gateway.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.RegisteredEnrolee;

/**
 * What the store guarantees, on a real database: single use, uniqueness, the durable ledger with
 * group commit, revocation, CRL numbering and the audit chain. Run once on H2 ({@link H2StoreTest})
 * and once on PostgreSQL ({@link PostgresStoreTest}): the same code path must hold on both.
 */
abstract class StoreContract {
    static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    Store store;
    String url;

    /** A fresh, empty database for one test. */
    abstract String newDatabase(Path dir) throws Exception;

    abstract String user();

    abstract String password();

    Store openStore() {
        return Store.open(url, user(), password(), 4, new SimpleMeterRegistry());
    }

    @BeforeEach
    void open(@TempDir Path dir) throws Exception {
        url = newDatabase(dir);
        store = openStore();
        register("ae-1", "a".repeat(64));
        register("ae-2", "b".repeat(64));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static <T> T await(CompletionStage<T> stage) {
        return stage.toCompletableFuture().join();
    }

    static IssuedCertificate cert(String serial, String enrolee, Instant notAfter) {
        return new IssuedCertificate(serial, enrolee, "default", "CN=" + serial, "URI://x/" + serial, NOW, notAfter, IssuedCertificate.Status.ISSUED, NOW,
                new byte[] {0x30, 0x03, 0x02, 0x01, 0x05}, java.util.Optional.empty());
    }

    /** Two CA keys' ids ({@link IssuerKeyId}): what the authorityKeyIdentifier of their certificates says. */
    static final String KEY_A = "a".repeat(40);
    static final String KEY_B = "b".repeat(40);
    private static final java.security.KeyPair SIGNING = ecKeys();

    /** A certificate DER whose authorityKeyIdentifier names the CA key {@code caKeyId}, as our CA writes it. */
    static IssuedCertificate cert(String serial, String enrolee, Instant notAfter, String caKeyId) throws Exception {
        org.bouncycastle.asn1.x500.X500Name name = new org.bouncycastle.asn1.x500.X500Name("CN=" + serial);
        byte[] der = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(new org.bouncycastle.asn1.x500.X500Name("CN=Test CA"),
                new java.math.BigInteger(serial, 16), java.util.Date.from(NOW), java.util.Date.from(notAfter), name, SIGNING.getPublic())
                .addExtension(org.bouncycastle.asn1.x509.Extension.authorityKeyIdentifier, false,
                        new org.bouncycastle.asn1.x509.AuthorityKeyIdentifier(java.util.HexFormat.of().parseHex(caKeyId)))
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(SIGNING.getPrivate()))
                .getEncoded();
        return new IssuedCertificate(serial, enrolee, "default", "CN=" + serial, "URI://x/" + serial, NOW, notAfter, IssuedCertificate.Status.ISSUED, NOW,
                der, java.util.Optional.empty());
    }

    private static java.security.KeyPair ecKeys() {
        try {
            java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
            g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs SQL behind the store's back, as someone with database access tampering with it would. */
    void tamper(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, user(), password()); Statement s = c.createStatement()) {
            s.executeUpdate(sql);
        }
    }

    static StoredEnrolee enrolee(String id, String fingerprint) {
        return new StoredEnrolee(new RegisteredEnrolee(id, CertSubjectType.AE_ID, "//m2m.example.com/" + id, Set.of(40)),
                fingerprint, StoredEnrolee.Command.CERT_PROV, NOW, java.util.Optional.empty(), java.util.List.of("default"), NOW,
                StoredEnrolee.CertProvProtocol.EST);
    }

    /** An operator's audit event for {@code type} about the Enrolee {@code id}. */
    static AuditEvent.Draft audit(String type, String id) {
        return new AuditEvent.Draft(NOW, type, "operator:test", "enrolee:" + id, "");
    }

    /**
     * The Enrolees every test starts with, written behind the store's back (a registration through
     * the store is audited), so that each test's audit log starts empty.
     */
    private void register(String id, String fingerprint) throws Exception {
        try (Connection c = DriverManager.getConnection(url, user(), password());
             java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO enrolee (id, bootstrap_fingerprint, cert_subject_type, "
                     + "cert_subject_id, suids, command, registered_at, profiles, instructed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            Jdbc.bind(ps, id, fingerprint, CertSubjectType.AE_ID.code(), "//m2m.example.com/" + id, "40", StoredEnrolee.Command.CERT_PROV,
                    NOW, "default", NOW);
            ps.executeUpdate();
        }
    }

    @Test
    void aChallengeClaimsOneIssuanceOnlyOnce() {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));

        assertEquals(Store.Claim.CLAIMED, store.beginIssuance("h1", "ae-1", true, NOW));
        assertEquals(Store.Claim.CHALLENGE_NOT_USABLE, store.beginIssuance("h1", "ae-1", true, NOW));
        assertTrue(store.challenge("h1").orElseThrow().used());
    }

    @Test
    void aSecondChallengeFindsTheCommandDone() {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));
        store.saveChallenge("h2", "ae-1", NOW, NOW.plusSeconds(60));

        assertEquals(Store.Claim.CLAIMED, store.beginIssuance("h1", "ae-1", true, NOW));
        assertEquals(Store.Claim.NO_PENDING_COMMAND, store.beginIssuance("h2", "ae-1", true, NOW));
        assertEquals(false, store.challenge("h2").orElseThrow().used(), "the refused claim changed nothing");
        assertEquals(StoredEnrolee.Command.NO_MORE_COMMANDS, store.enroleeByFingerprint("a".repeat(64)).orElseThrow().command());
    }

    @Test
    void expiredOrForeignChallengesClaimNothing() {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));

        assertEquals(Store.Claim.CHALLENGE_NOT_USABLE, store.beginIssuance("h1", "ae-1", true, NOW.plus(Duration.ofSeconds(60))));
        assertEquals(Store.Claim.CHALLENGE_NOT_USABLE, store.beginIssuance("h1", "ae-2", true, NOW));
        assertEquals(StoredEnrolee.Command.CERT_PROV, store.enroleeByFingerprint("a".repeat(64)).orElseThrow().command());
    }

    @Test
    void abandoningAClaimMakesChallengeAndCommandUsableAgain() {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));
        store.beginIssuance("h1", "ae-1", true, NOW);

        store.abandonIssuance("h1", "ae-1", true, NOW);

        assertEquals(Store.Claim.CLAIMED, store.beginIssuance("h1", "ae-1", true, NOW));
    }

    /**
     * A release that comes late (retried while the store was failing), after the operator
     * instructed the Enrolee again and it got a certificate: the challenge is given back, the
     * command is not, so the late release grants no certificate nobody instructed.
     */
    @Test
    void aLateReleaseDoesNotRestoreACommandSpentByACertificateIssuedSinceTheClaim() {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));
        store.beginIssuance("h1", "ae-1", true, NOW);
        await(store.recordIssuance(new IssuedCertificate("6a01", "ae-1", "default", "CN=x", "URI://x", NOW, NOW.plusSeconds(3600),
                IssuedCertificate.Status.ISSUED, NOW.plusSeconds(5), new byte[] {0x30, 0x00}, java.util.Optional.empty())));

        store.abandonIssuance("h1", "ae-1", true, NOW);

        assertEquals(false, store.challenge("h1").orElseThrow().used(), "the challenge is given back");
        assertEquals(StoredEnrolee.Command.NO_MORE_COMMANDS, store.enroleeByFingerprint("a".repeat(64)).orElseThrow().command(),
                "the command stays spent");
    }

    /**
     * The first claim was lost (H2 closed after a full disk before it reached the file), the
     * client's retry claimed the challenge again, and then the first claim's background release
     * gets through: it must not give back the challenge the later claim spent.
     */
    @Test
    void aLateReleaseDoesNotGiveBackAChallengeThatALaterClaimSpent() {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));
        Instant lost = NOW.plusNanos(123_456_789); // finer than the database keeps: compared to the microsecond
        store.beginIssuance("h1", "ae-1", false, lost);
        store.abandonIssuance("h1", "ae-1", false, lost);
        assertEquals(Store.Claim.CLAIMED, store.beginIssuance("h1", "ae-1", false, NOW.plusSeconds(5)));

        store.abandonIssuance("h1", "ae-1", false, lost);

        assertEquals(true, store.challenge("h1").orElseThrow().used(), "spent by the later claim");
        assertEquals(Store.Claim.CHALLENGE_NOT_USABLE, store.beginIssuance("h1", "ae-1", false, NOW.plusSeconds(6)));
    }

    /** A place under a limit of {@code limit} issuances in the day before {@code at}. */
    static IssuanceReservation place(int limit, Instant at) {
        return new IssuanceReservation(java.util.UUID.randomUUID().toString().replace("-", ""), limit, at.minus(Duration.ofDays(1)));
    }

    /** A renewal's claim (no challenge, no command) with a place under the limit. */
    static Store.Claim claim(Store store, String enrolee, IssuanceReservation place, Instant at) {
        return store.beginIssuance(null, enrolee, false, at, Optional.empty(), 0, Optional.of(place));
    }

    /**
     * 40 renewals of one Enrolee race against a limit of 5 on two stores (two nodes), and each
     * one claimed is recorded at once, so places turn into certificates while the others count:
     * exactly 5 claims, exactly 5 certificates.
     */
    @Test
    void nParallelClaimsAgainstALimitOfLGetExactlyLOnTwoStores() throws Exception {
        int limit = 5;
        ExecutorService clients = Executors.newFixedThreadPool(40);
        try (Store other = openStore()) {
            List<Future<Store.Claim>> claims = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                Store node = i % 2 == 0 ? store : other;
                String serial = Integer.toHexString(0x3000 + i);
                claims.add(clients.submit(() -> {
                    IssuanceReservation place = place(limit, NOW);
                    Store.Claim c = claim(node, "ae-1", place, NOW);
                    if (c == Store.Claim.CLAIMED) {
                        await(node.recordIssuance(cert(serial, "ae-1", NOW.plusSeconds(3600)), Optional.of(place), false));
                    }
                    return c;
                }));
            }
            List<Store.Claim> outcomes = new ArrayList<>();
            for (Future<Store.Claim> f : claims) {
                outcomes.add(f.get());
            }

            assertEquals(limit, outcomes.stream().filter(c -> c == Store.Claim.CLAIMED).count(), outcomes.toString());
            assertEquals(40 - limit, outcomes.stream().filter(c -> c == Store.Claim.ISSUANCE_LIMIT).count(), outcomes.toString());
            assertEquals(limit, store.issuedSince("ae-1", NOW.minus(Duration.ofDays(1))));
        } finally {
            clients.shutdown();
        }
    }

    @Test
    void certificatesIssuedInTheWindowCountAndAnotherEnroleeHasItsOwnLimit() {
        await(store.recordIssuance(cert("e1", "ae-1", NOW.plusSeconds(3600))));
        await(store.recordIssuance(cert("e2", "ae-1", NOW.plusSeconds(3600))));

        assertEquals(Store.Claim.ISSUANCE_LIMIT, claim(store, "ae-1", place(2, NOW.plusSeconds(1)), NOW.plusSeconds(1)));
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-2", place(2, NOW.plusSeconds(1)), NOW.plusSeconds(1)));
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(2, NOW.plus(Duration.ofDays(1))), NOW.plus(Duration.ofDays(1))),
                "a day later they are out of the window");
    }

    @Test
    void aClaimRefusedByTheLimitSpendsNeitherChallengeNorCommand() {
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(1, NOW), NOW));
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));

        assertEquals(Store.Claim.ISSUANCE_LIMIT, store.beginIssuance("h1", "ae-1", true, NOW, Optional.empty(), 0,
                Optional.of(place(1, NOW))));

        assertFalse(store.challenge("h1").orElseThrow().used());
        assertEquals(StoredEnrolee.Command.CERT_PROV, store.enrolee("ae-1").orElseThrow().command());
    }

    @Test
    void aReleasedClaimFreesItsPlace() {
        IssuanceReservation first = place(1, NOW);
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", first, NOW));
        assertEquals(Store.Claim.ISSUANCE_LIMIT, claim(store, "ae-1", place(1, NOW), NOW));

        store.abandonIssuance(null, "ae-1", false, NOW, Optional.of(first.id()));

        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(1, NOW), NOW));
    }

    /** Recording the certificate frees the place in the same transaction: it counts once, as the certificate. */
    @Test
    void aRecordedClaimTurnsIntoItsCertificateWithoutCountingTwice() {
        IssuanceReservation first = place(2, NOW);
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", first, NOW));

        await(store.recordIssuance(cert("f1", "ae-1", NOW.plusSeconds(3600)), Optional.of(first), false));

        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(2, NOW), NOW), "one certificate, one place free");
        assertEquals(Store.Claim.ISSUANCE_LIMIT, claim(store, "ae-1", place(2, NOW), NOW), "the certificate and the new place");
    }

    /** A renewing caller is found in one statement: the certificate and its Enrolee, or the certificate alone once the Enrolee is gone. */
    @Test
    void aCertificateIsFoundWithItsEnroleeWhileTheEnroleeIsRegistered() {
        await(store.recordIssuance(cert("e1", "ae-1", NOW.plusSeconds(3600))));

        Store.IssuedTo found = store.issuedTo("e1").orElseThrow();
        assertEquals(store.certificate("e1").orElseThrow().serialHex(), found.certificate().serialHex());
        assertEquals(store.enrolee("ae-1"), found.enrolee());

        assertTrue(await(store.removeEnrolee("ae-1", audit("enrolee.removed", "ae-1"))));
        assertEquals(Optional.empty(), store.issuedTo("e1").orElseThrow().enrolee());
        assertEquals(Optional.empty(), store.issuedTo("ff"));
    }

    /** A first enrolment's result is written with its certificate, in the same transaction; a renewal's leaves it alone. */
    @Test
    void theRecordOfAFirstEnrolmentSetsTheCommandResultOk() {
        await(store.recordIssuance(cert("c1", "ae-1", NOW.plusSeconds(3600)), Optional.empty(), true));
        await(store.recordIssuance(cert("c2", "ae-2", NOW.plusSeconds(3600)), Optional.empty(), false));

        assertEquals(Optional.of(StoredEnrolee.CommandResult.OK), store.enrolee("ae-1").orElseThrow().commandResult());
        assertEquals(Optional.empty(), store.enrolee("ae-2").orElseThrow().commandResult());
    }

    /** Places a dead process left behind are dropped by the Enrolee's next record; younger ones stay. */
    @Test
    void theRecordOfACertificateDropsTheEnroleesPlacesOlderThanTheWindow() throws Exception {
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(5, NOW), NOW));
        Instant dayLater = NOW.plus(Duration.ofDays(1)).plusSeconds(1);
        IssuanceReservation young = place(5, dayLater);
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", young, dayLater));
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(5, dayLater), dayLater));

        await(store.recordIssuance(cert("d1", "ae-1", dayLater.plusSeconds(3600)), Optional.of(young), false));

        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, user(), password());
             java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*) FROM issuance_reservation")) {
            rs.next();
            assertEquals(1, rs.getInt(1), "the stale place and the recorded one are gone, the other young one stays");
        }
    }

    /** A claim nobody recorded or released (the process died while signing) locks the Enrolee out for the window at most. */
    @Test
    void aPlaceNobodyFreedCountsOnlyWhileItIsYoungerThanTheWindow() {
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(1, NOW), NOW));

        Instant hourLater = NOW.plus(Duration.ofHours(1));
        assertEquals(Store.Claim.ISSUANCE_LIMIT, claim(store, "ae-1", place(1, hourLater), hourLater));
        Instant dayLater = NOW.plus(Duration.ofDays(1)).plusSeconds(1);
        assertEquals(Store.Claim.CLAIMED, claim(store, "ae-1", place(1, dayLater), dayLater));
    }

    @Test
    void duplicateEnroleeIdOrBootstrapCertificateIsRefused() {
        assertEquals(Store.Registration.ID_TAKEN,
                await(store.registerEnrolee(enrolee("ae-1", "c".repeat(64)), audit("enrolee.registered", "ae-1"))));
        assertEquals(Store.Registration.FINGERPRINT_TAKEN,
                await(store.registerEnrolee(enrolee("ae-3", "a".repeat(64)), audit("enrolee.registered", "ae-3"))));
        assertTrue(store.enrolee("ae-3").isEmpty());
        assertEquals(List.of(), store.auditEvents(0, 10), "a refused registration is not audited");
    }

    @Test
    void aRegistrationIsKeptOnlyWithItsAuditEvent() throws Exception {
        AuditRefusal refusal = AuditRefusal.of("enrolee.registered", url, user(), password());
        CompletionException failed = assertThrows(CompletionException.class,
                () -> await(store.registerEnrolee(enrolee("ae-3", "c".repeat(64)), audit("enrolee.registered", "ae-3"))));
        assertInstanceOf(StoreException.class, failed.getCause());
        assertTrue(store.enrolee("ae-3").isEmpty(), "the registration went with its audit event");

        refusal.lift();
        assertEquals(Store.Registration.REGISTERED,
                await(store.registerEnrolee(enrolee("ae-3", "c".repeat(64)), audit("enrolee.registered", "ae-3"))));
        assertTrue(store.enrolee("ae-3").isPresent());
        assertEquals(List.of("enrolee.registered enrolee:ae-3"), events());
    }

    @Test
    void anInstructionIsKeptOnlyWithItsAuditEvent() throws Exception {
        assertEquals(Store.Claim.CLAIMED, store.beginIssuance(null, "ae-1", true, NOW), "the registration's command is spent");
        AuditRefusal refusal = AuditRefusal.of("enrolee.instructed", url, user(), password());
        Instant later = NOW.plusSeconds(60);
        CompletionException failed = assertThrows(CompletionException.class,
                () -> await(store.instruct("ae-1", Optional.of(List.of("iot")), StoredEnrolee.CertProvProtocol.EST, later, audit("enrolee.instructed", "ae-1"))));
        assertInstanceOf(StoreException.class, failed.getCause());
        StoredEnrolee unchanged = store.enrolee("ae-1").orElseThrow();
        assertEquals(StoredEnrolee.Command.NO_MORE_COMMANDS, unchanged.command(), "the instruction went with its audit event");
        assertEquals(List.of("default"), unchanged.profiles());
        assertEquals(NOW, unchanged.instructedAt());

        refusal.lift();
        assertTrue(await(store.instruct("ae-1", Optional.of(List.of("iot")), StoredEnrolee.CertProvProtocol.EST, later, audit("enrolee.instructed", "ae-1"))));
        StoredEnrolee instructed = store.enrolee("ae-1").orElseThrow();
        assertEquals(StoredEnrolee.Command.CERT_PROV, instructed.command());
        assertEquals(List.of("iot"), instructed.profiles());
        assertEquals(later, instructed.instructedAt());
        assertEquals(List.of("enrolee.instructed enrolee:ae-1"), events());
    }

    @Test
    void anInstructionKeepsTheProtocolItNamesUntilTheNext() throws Exception {
        assertEquals(StoredEnrolee.CertProvProtocol.EST, store.enrolee("ae-1").orElseThrow().protocol(), "registered for EST");
        assertTrue(await(store.instruct("ae-1", Optional.empty(), StoredEnrolee.CertProvProtocol.SCEP, NOW, audit("enrolee.instructed", "ae-1"))));
        assertEquals(StoredEnrolee.CertProvProtocol.SCEP, store.enrolee("ae-1").orElseThrow().protocol());
        assertEquals(StoredEnrolee.CertProvProtocol.EST, store.enrolee("ae-2").orElseThrow().protocol(), "only the instructed Enrolee");
        assertTrue(await(store.instruct("ae-1", Optional.empty(), StoredEnrolee.CertProvProtocol.EST, NOW, audit("enrolee.instructed", "ae-1"))));
        assertEquals(StoredEnrolee.CertProvProtocol.EST, store.enrolee("ae-1").orElseThrow().protocol());
    }

    @Test
    void aRemovalIsKeptOnlyWithItsAuditEvent() throws Exception {
        AuditRefusal refusal = AuditRefusal.of("enrolee.removed", url, user(), password());
        CompletionException failed = assertThrows(CompletionException.class,
                () -> await(store.removeEnrolee("ae-2", audit("enrolee.removed", "ae-2"))));
        assertInstanceOf(StoreException.class, failed.getCause());
        assertTrue(store.enrolee("ae-2").isPresent(), "the removal went with its audit event");

        refusal.lift();
        assertTrue(await(store.removeEnrolee("ae-2", audit("enrolee.removed", "ae-2"))));
        assertTrue(store.enrolee("ae-2").isEmpty());
        assertEquals(List.of("enrolee.removed enrolee:ae-2"), events());
    }

    @Test
    void instructingOrRemovingNoSuchEnroleeChangesAndAuditsNothing() {
        assertFalse(await(store.instruct("ae-9", Optional.empty(), StoredEnrolee.CertProvProtocol.EST, NOW, audit("enrolee.instructed", "ae-9"))));
        assertFalse(await(store.removeEnrolee("ae-9", audit("enrolee.removed", "ae-9"))));
        assertEquals(List.of(), store.auditEvents(0, 10));
    }

    /** The audit log as "type subject" lines. */
    private List<String> events() {
        return store.auditEvents(0, 100).stream().map(e -> e.type() + " " + e.subject()).toList();
    }

    @Test
    void recordedCertificateIsReadBackByteForByteAndItsSerialCannotRepeat() {
        byte[] der = {0x30, 0x03, 0x02, 0x01, 0x05};
        IssuedCertificate cert = new IssuedCertificate("5f3a", "ae-1", "default", "CN=x", "URI://x", NOW, NOW.plusSeconds(3600),
                IssuedCertificate.Status.ISSUED, NOW, der, java.util.Optional.empty());

        await(store.recordIssuance(cert));

        IssuedCertificate read = store.certificates().get(0);
        assertArrayEquals(der, read.der());
        assertEquals(NOW.plusSeconds(3600), read.notAfter());
        CompletionException dup = assertThrows(CompletionException.class, () -> await(store.recordIssuance(cert)));
        assertInstanceOf(DuplicateException.class, dup.getCause());
        assertEquals(1, store.certificates().size());
    }

    @Test
    void concurrentIssuancesAreAllRecordedEachWithItsAuditEvent() throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 1; i <= 64; i++) {
                String serial = Integer.toHexString(0x1000 + i);
                done.add(clients.submit(() -> await(store.recordIssuance(cert(serial, "ae-1", NOW.plusSeconds(3600))))));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            clients.shutdown();
        }

        assertEquals(64, store.certificates().size());
        AuditChain.Verification v = store.verifyAuditChain();
        assertTrue(v.intact(), v.toString());
        assertEquals(64, v.events());
        assertEquals(64, store.auditEvents(0, 100).stream().filter(e -> e.type().equals("certificate.issued")).count());
    }

    @Test
    void aDuplicateSerialFailsAloneAndTheOtherWritesOfItsBatchCommit() {
        await(store.recordIssuance(cert("aa", "ae-1", NOW.plusSeconds(3600))));

        CompletableFuture<Void> before = store.recordIssuance(cert("bb", "ae-1", NOW.plusSeconds(3600))).toCompletableFuture();
        CompletableFuture<Void> duplicate = store.recordIssuance(cert("aa", "ae-2", NOW.plusSeconds(3600))).toCompletableFuture();
        CompletableFuture<Void> after = store.recordIssuance(cert("cc", "ae-2", NOW.plusSeconds(3600))).toCompletableFuture();

        before.join();
        after.join();
        CompletionException e = assertThrows(CompletionException.class, duplicate::join);
        assertInstanceOf(DuplicateException.class, e.getCause());
        assertEquals(List.of("aa", "bb", "cc"), store.certificates().stream().map(IssuedCertificate::serialHex).sorted().toList());
        assertEquals("ae-1", store.certificates().stream().filter(c -> c.serialHex().equals("aa")).findFirst().orElseThrow().enroleeId());
        assertTrue(store.verifyAuditChain().intact(), "the undone write left no audit event behind");
        assertEquals(3, store.verifyAuditChain().events());
    }

    @Test
    void revocationIsFinalAndVisibleInStatusAndCrlEntries() throws Exception {
        await(store.recordIssuance(cert("a1", "ae-1", NOW.plusSeconds(3600), KEY_A)));
        await(store.recordIssuance(cert("a2", "ae-1", NOW.plusSeconds(3600), KEY_A)));
        Instant at = NOW.plusSeconds(10);

        assertEquals(Store.RevocationOutcome.REVOKED, await(store.revoke("a1", RevocationReason.KEY_COMPROMISE, at, "operator:test")));
        assertEquals(Store.RevocationOutcome.ALREADY_REVOKED, await(store.revoke("a1", RevocationReason.SUPERSEDED, at.plusSeconds(5), "operator:test")));
        assertEquals(Store.RevocationOutcome.UNKNOWN_SERIAL, await(store.revoke("ffff", RevocationReason.UNSPECIFIED, at, "operator:test")));

        CertificateStatus status = store.certificateStatus("a1");
        Revocation r = assertInstanceOf(CertificateStatus.Revoked.class, status).revocation();
        assertEquals(RevocationReason.KEY_COMPROMISE, r.reason(), "the second revocation changed nothing");
        assertEquals(at, r.revokedAt());
        assertTrue(store.isRevoked("a1"));
        assertInstanceOf(CertificateStatus.Good.class, store.certificateStatus("a2"));
        assertInstanceOf(CertificateStatus.Unknown.class, store.certificateStatus("ffff"));
        assertEquals(List.of(r), store.revocationsUnexpiredAt(NOW, KEY_A));
        assertEquals(List.of(), store.revocationsUnexpiredAt(NOW.plusSeconds(3600), KEY_A), "expired certificates leave the CRL");
        assertEquals(1, store.auditEvents(0, 100).stream().filter(e -> e.type().equals("certificate.revoked")
                && e.subject().equals("serial:a1") && e.actor().equals("operator:test")).count());
    }

    @Test
    void certificatesAreFilteredByEnroleeStatusAndExpiry() {
        await(store.recordIssuance(cert("b1", "ae-1", NOW.plus(Duration.ofDays(10)))));
        await(store.recordIssuance(cert("b2", "ae-2", NOW.plus(Duration.ofDays(20)))));
        await(store.recordIssuance(cert("b3", "ae-2", NOW.plus(Duration.ofDays(30)))));
        await(store.revoke("b3", RevocationReason.SUPERSEDED, NOW, "operator:test"));

        assertEquals(List.of("b2", "b3"), serials(new CertificateFilter(Optional.of("ae-2"), Optional.empty(), Optional.empty())));
        assertEquals(List.of("b3"), serials(new CertificateFilter(Optional.empty(), Optional.of(IssuedCertificate.Status.REVOKED), Optional.empty())));
        assertEquals(List.of("b1", "b2"), serials(new CertificateFilter(Optional.empty(), Optional.empty(),
                Optional.of(NOW.plus(Duration.ofDays(25))))));
        assertEquals(List.of("b2"), serials(new CertificateFilter(Optional.of("ae-2"), Optional.of(IssuedCertificate.Status.ISSUED),
                Optional.of(NOW.plus(Duration.ofDays(25))))));
    }

    private List<String> serials(CertificateFilter filter) {
        return store.certificates(filter).stream().map(IssuedCertificate::serialHex).sorted().toList();
    }

    @Test
    void aCrlNumberIsTakenOnceAndTheNewestIsPublished() {
        assertTrue(store.latestCrl("default").isEmpty());
        assertTrue(store.saveCrl("default", new StoredCrl(1, NOW, NOW.plusSeconds(60), new byte[] {1})));
        assertFalse(store.saveCrl("default", new StoredCrl(1, NOW, NOW.plusSeconds(60), new byte[] {2})), "another node signed number 1 first");
        assertTrue(store.saveCrl("default", new StoredCrl(2, NOW.plusSeconds(1), NOW.plusSeconds(61), new byte[] {3})));

        StoredCrl latest = store.latestCrl("default").orElseThrow();
        assertEquals(2, latest.number());
        assertArrayEquals(new byte[] {3}, latest.der());
    }

    @Test
    void aScepTransactionFindsItsHeldRequestByKeyAndTransactionIdOnlyAndTheFirstRecordStays() {
        HeldRequest held = new HeldRequest("0".repeat(31) + "1", "ae-1", "scep", false, Optional.empty(), "c".repeat(64), "k".repeat(64),
                new byte[] {1}, HeldRequest.Status.PENDING, Optional.empty(), Optional.empty(), NOW, Optional.empty());
        HeldRequest other = new HeldRequest("0".repeat(31) + "2", "ae-1", "scep", false, Optional.empty(), "d".repeat(64), "l".repeat(64),
                new byte[] {2}, HeldRequest.Status.PENDING, Optional.empty(), Optional.empty(), NOW, Optional.empty());
        assertEquals(Store.Claim.CLAIMED, store.beginIssuance(null, "ae-1", false, NOW, Optional.of(held), 5, Optional.empty()));
        assertEquals(Store.Claim.CLAIMED, store.beginIssuance(null, "ae-1", false, NOW, Optional.of(other), 5, Optional.empty()));

        store.saveScepTransaction("a".repeat(64), "tx-1", held.id(), NOW);
        store.saveScepTransaction("a".repeat(64), "tx-1", other.id(), NOW.plusSeconds(1));

        assertEquals(held.id(), store.scepHeldRequest("a".repeat(64), "tx-1").orElseThrow().id(), "the first record stays");
        assertTrue(store.scepHeldRequest("b".repeat(64), "tx-1").isEmpty(), "another key");
        assertTrue(store.scepHeldRequest("a".repeat(64), "tx-2").isEmpty(), "another transaction");
    }

    @Test
    void eachCaKeyHasItsOwnCrlNumbers() {
        assertTrue(store.saveCrl("default", new StoredCrl(1, NOW, NOW.plusSeconds(60), new byte[] {1})));
        assertTrue(store.saveCrl("default", new StoredCrl(2, NOW, NOW.plusSeconds(60), new byte[] {2})));
        assertTrue(store.saveCrl("iot", new StoredCrl(1, NOW, NOW.plusSeconds(60), new byte[] {3})), "RFC 5280 5.2.3: numbers per issuer");

        assertEquals(2, store.latestCrl("default").orElseThrow().number());
        assertArrayEquals(new byte[] {3}, store.latestCrl("iot").orElseThrow().der());
        assertTrue(store.latestCrl("fleet").isEmpty());
    }

    @Test
    void aCertificateHasAStatusAndACrlEntryOnlyUnderTheCaKeyThatSignedIt() throws Exception {
        await(store.recordIssuance(cert("e1", "ae-1", NOW.plusSeconds(3600), KEY_A)));
        await(store.recordIssuance(cert("e2", "ae-1", NOW.plusSeconds(3600), KEY_B)));
        await(store.revoke("e1", RevocationReason.KEY_COMPROMISE, NOW, "operator:test"));
        await(store.revoke("e2", RevocationReason.SUPERSEDED, NOW, "operator:test"));

        assertInstanceOf(CertificateStatus.Revoked.class, store.certificateStatus("e1", KEY_A));
        assertInstanceOf(CertificateStatus.Unknown.class, store.certificateStatus("e1", KEY_B), "key B never signed e1");
        assertEquals(List.of("e1"), store.revocationsUnexpiredAt(NOW, KEY_A).stream().map(Revocation::serialHex).toList());
        assertEquals(List.of("e2"), store.revocationsUnexpiredAt(NOW, KEY_B).stream().map(Revocation::serialHex).toList());
    }

    /** Rows from before the ledger recorded the signing key get it from their DER when a store opens (migration V5). */
    @Test
    void certificatesRecordedWithoutTheirCaKeyGetItFromTheirDerWhenTheStoreOpens() throws Exception {
        await(store.recordIssuance(cert("f1", "ae-1", NOW.plusSeconds(3600), KEY_B)));
        await(store.recordIssuance(cert("f2", "ae-1", NOW.plusSeconds(3600))));  // no authorityKeyIdentifier: no key of ours
        tamper("UPDATE issued_certificate SET issuer_key_id = NULL");
        assertInstanceOf(CertificateStatus.Unknown.class, store.certificateStatus("f1", KEY_B));
        store.close();

        store = openStore();

        assertInstanceOf(CertificateStatus.Good.class, store.certificateStatus("f1", KEY_B));
        assertInstanceOf(CertificateStatus.Unknown.class, store.certificateStatus("f2", KEY_A));
        assertInstanceOf(CertificateStatus.Good.class, store.certificateStatus("f2"), "still in the ledger");
    }

    @Test
    void responderCertificatesAreListedNewestFirstWhileValidAndAudited() {
        await(store.recordResponderCertificate("default", "c1", NOW, NOW.plus(Duration.ofDays(7)), new byte[] {1}, NOW));
        await(store.recordResponderCertificate("default", "c2", NOW, NOW.plus(Duration.ofDays(9)), new byte[] {2}, NOW));
        await(store.recordResponderCertificate("default", "c0", NOW, NOW.plus(Duration.ofDays(1)), new byte[] {0}, NOW));
        await(store.recordResponderCertificate("iot", "c3", NOW, NOW.plus(Duration.ofDays(8)), new byte[] {3}, NOW));

        assertEquals(List.of(2, 1), store.responderCertificates("default", NOW.plus(Duration.ofDays(2))).stream().map(d -> (int) d[0]).toList());
        assertEquals(List.of(3), store.responderCertificates("iot", NOW).stream().map(d -> (int) d[0]).toList());
        assertEquals(4, store.auditEvents(0, 10).stream().filter(e -> e.type().equals("ocsp.responder.certified")).count());
        assertTrue(store.verifyAuditChain().intact());
    }

    @Test
    void anAlteredAuditEventIsTheFirstBrokenLink() throws Exception {
        for (int i = 1; i <= 5; i++) {
            await(store.audit(new AuditEvent.Draft(NOW, "test.event", "operator:test", "n:" + i, "detail " + i)));
        }
        assertTrue(store.verifyAuditChain().intact());

        tamper("UPDATE audit_event SET detail = 'nothing happened' WHERE seq = 3");

        AuditChain.Verification v = store.verifyAuditChain();
        assertFalse(v.intact());
        assertEquals(3, v.brokenLink().orElseThrow().seq());
        assertEquals(2, v.events());
        assertTrue(v.brokenLink().orElseThrow().reason().contains("altered"), v.toString());
    }

    @Test
    void aDeletedAuditEventIsTheFirstBrokenLink() throws Exception {
        for (int i = 1; i <= 5; i++) {
            await(store.audit(new AuditEvent.Draft(NOW, "test.event", "operator:test", "n:" + i, "detail " + i)));
        }

        tamper("DELETE FROM audit_event WHERE seq = 2");

        AuditChain.Verification v = store.verifyAuditChain();
        assertEquals(2, v.brokenLink().orElseThrow().seq());
        assertTrue(v.brokenLink().orElseThrow().reason().contains("missing"), v.toString());
    }

    @Test
    void aRenumberedChainStillBreaksAtTheRemovedEvent() throws Exception {
        for (int i = 1; i <= 4; i++) {
            await(store.audit(new AuditEvent.Draft(NOW, "test.event", "operator:test", "n:" + i, "detail " + i)));
        }

        // Hiding the gap: remove event 2 and renumber 3, 4 to 2, 3. The links still give it away.
        tamper("DELETE FROM audit_event WHERE seq = 2");
        tamper("UPDATE audit_event SET seq = seq - 1 WHERE seq > 2");

        assertEquals(2, store.verifyAuditChain().brokenLink().orElseThrow().seq());
    }

    /**
     * A refusal's audit detail quotes the client's CSR, so it can hold a NUL byte (PostgreSQL
     * refuses it in text, and failed the whole group commit) or a lone surrogate (no UTF-8 for it:
     * PostgreSQL's driver stores '?' where H2 keeps it); clipping at the column's length can split
     * a surrogate pair too. The event is recorded with U+FFFD in their place on both databases, and
     * the issuance submitted along with it (in the same group commit when the writer takes them
     * together) is recorded too.
     */
    @Test
    void auditTextQuotingAClientIsStoredAsHashedAndFailsNoOtherWrite() {
        String clipped = "x".repeat(4095) + "\uD83D\uDE00";  // the pair straddles the 4096-character limit
        CompletableFuture<Void> nul = store.audit(new AuditEvent.Draft(NOW, "enrolment.refused", "enrolee:ae-1\u0000",
                "rule:san", "the CSR has URI://x/C0001\u0000.evil.example")).toCompletableFuture();
        CompletableFuture<Void> issued = store.recordIssuance(cert("d1", "ae-1", NOW.plusSeconds(3600))).toCompletableFuture();
        CompletableFuture<Void> surrogate = store.audit(new AuditEvent.Draft(NOW, "enrolment.refused", "enrolee:ae-2",
                "rule:\uDC00", clipped)).toCompletableFuture();

        issued.join();
        nul.join();
        surrogate.join();
        assertEquals(List.of("d1"), store.certificates().stream().map(IssuedCertificate::serialHex).toList());
        AuditChain.Verification v = store.verifyAuditChain();
        assertTrue(v.intact(), v.toString());
        assertEquals(3, v.events());
        List<AuditEvent> refusals = store.auditEvents(0, 10).stream().filter(e -> e.type().equals("enrolment.refused")).toList();
        assertEquals("enrolee:ae-1\uFFFD", refusals.get(0).actor());
        assertEquals("the CSR has URI://x/C0001\uFFFD.evil.example", refusals.get(0).detail());
        assertEquals("rule:\uFFFD", refusals.get(1).subject());
        assertEquals("x".repeat(4095) + "\uFFFD", refusals.get(1).detail());
    }

    @Test
    void twoStoresOnOneDatabaseAppendToOneIntactChain() throws Exception {
        // Two gateway nodes: each has its own store (pool, group-commit writer) on the same database.
        try (Store other = openStore()) {
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                Store node = i % 2 == 0 ? store : other;
                writes.add(node.audit(new AuditEvent.Draft(NOW, "test.event", "node:" + (i % 2), "n:" + i, "")).toCompletableFuture());
                writes.add(node.recordIssuance(cert(Integer.toHexString(0x2000 + i), "ae-1", NOW.plusSeconds(60))).toCompletableFuture());
            }
            CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();

            AuditChain.Verification v = other.verifyAuditChain();
            assertTrue(v.intact(), v.toString());
            assertEquals(80, v.events());
        }
    }

    @Test
    void aChallengeIsClaimedOnceAcrossTwoStores() throws Exception {
        store.saveChallenge("h1", "ae-1", NOW, NOW.plusSeconds(60));
        try (Store other = openStore()) {
            assertEquals(Store.Claim.CLAIMED, other.beginIssuance("h1", "ae-1", true, NOW));
            assertEquals(Store.Claim.CHALLENGE_NOT_USABLE, store.beginIssuance("h1", "ae-1", true, NOW));
        }
    }
}
