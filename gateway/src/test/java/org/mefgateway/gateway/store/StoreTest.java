package org.mefgateway.gateway.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.RegisteredEnrolee;

/** The store's single-use and uniqueness guarantees, on a real H2 file database. */
class StoreTest {
    static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    Store store;

    @BeforeEach
    void open(@TempDir Path dir) {
        store = Store.openH2(dir.resolve("db"), 2);
        register("ae-1", "a".repeat(64));
        register("ae-2", "b".repeat(64));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private void register(String id, String fingerprint) {
        store.registerEnrolee(new StoredEnrolee(new RegisteredEnrolee(id, CertSubjectType.AE_ID, "//m2m.example.com/" + id, Set.of(40)),
                fingerprint, StoredEnrolee.Command.CERT_PROV, NOW, java.util.Optional.empty()));
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

        store.abandonIssuance("h1", "ae-1", true);

        assertEquals(Store.Claim.CLAIMED, store.beginIssuance("h1", "ae-1", true, NOW));
    }

    @Test
    void duplicateEnroleeIdOrBootstrapCertificateIsRefused() {
        DuplicateException id = assertThrows(DuplicateException.class, () -> register("ae-1", "c".repeat(64)));
        assertTrue(id.getMessage().contains("ae-1"), id.getMessage());
        assertThrows(DuplicateException.class, () -> register("ae-3", "a".repeat(64)));
    }

    @Test
    void recordedCertificateIsReadBackByteForByteAndItsSerialCannotRepeat() {
        byte[] der = {0x30, 0x03, 0x02, 0x01, 0x05};
        IssuedCertificate cert = new IssuedCertificate("5f3a", "ae-1", "default", "CN=x", "URI://x", NOW, NOW.plusSeconds(3600),
                "ISSUED", NOW, der);

        store.recordIssuance(cert);

        IssuedCertificate read = store.certificates().get(0);
        assertArrayEquals(der, read.der());
        assertEquals(NOW.plusSeconds(3600), read.notAfter());
        assertThrows(DuplicateException.class, () -> store.recordIssuance(cert));
        assertEquals(1, store.certificates().size());
    }
}
