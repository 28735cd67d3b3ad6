package org.mefgateway.gateway.scep;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SenderNoncesTest {
    static final Instant T0 = Instant.parse("2026-12-04T12:00:00Z");
    static final byte[] NONCE = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    @Test
    void aNonceSeenAgainInAnotherTransactionOrFromAnotherKeyIsAReplay() {
        SenderNonces nonces = new SenderNonces(Duration.ofMinutes(10));
        assertTrue(nonces.accept(NONCE, "tx-1", "key-1", T0));
        assertFalse(nonces.accept(NONCE, "tx-2", "key-1", T0.plusSeconds(1)), "another transaction");
        assertFalse(nonces.accept(NONCE, "tx-1", "key-2", T0.plusSeconds(1)), "another key");
    }

    @Test
    void theSameTransactionFromTheSameKeyIsARetransmission() {
        SenderNonces nonces = new SenderNonces(Duration.ofMinutes(10));
        assertTrue(nonces.accept(NONCE, "tx-1", "key-1", T0));
        assertTrue(nonces.accept(NONCE, "tx-1", "key-1", T0.plusSeconds(1)));
    }

    @Test
    void aNonceIsForgottenOnceOlderThanTheWindow() {
        SenderNonces nonces = new SenderNonces(Duration.ofMinutes(10));
        assertTrue(nonces.accept(NONCE, "tx-1", "key-1", T0));
        assertFalse(nonces.accept(NONCE, "tx-2", "key-2", T0.plus(Duration.ofMinutes(10))), "still within the window");
        assertTrue(nonces.accept(NONCE, "tx-2", "key-2", T0.plus(Duration.ofMinutes(10)).plusSeconds(1)));
    }

    @Test
    void beyondTheCapTheOldestNonceIsForgotten() {
        SenderNonces nonces = new SenderNonces(Duration.ofMinutes(10));
        for (int i = 0; i <= SenderNonces.MAX_ENTRIES; i++) {
            assertTrue(nonces.accept(nonce(i), "tx-" + i, "key", T0));
        }
        assertTrue(nonces.accept(nonce(0), "other", "key", T0), "the first was dropped to keep the cap");
        assertFalse(nonces.accept(nonce(SenderNonces.MAX_ENTRIES), "other", "key", T0), "the newest is kept");
    }

    private static byte[] nonce(int i) {
        byte[] n = new byte[16];
        n[0] = (byte) i;
        n[1] = (byte) (i >> 8);
        n[2] = (byte) (i >> 16);
        return n;
    }
}
