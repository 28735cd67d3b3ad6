package org.mefgateway.gateway.est;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TokenBucketsTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aClientGetsItsBurstThenOneRequestPerRefill() {
        TokenBuckets buckets = new TokenBuckets(2, 3, 10);
        long t = 5 * SECOND;
        for (int i = 0; i < 3; i++) {
            assertEquals(0, buckets.take("10.0.0.1", t));
        }
        long wait = buckets.take("10.0.0.1", t);
        assertTrue(wait > 0 && wait <= SECOND / 2, "wait " + wait);
        // Another client has its own bucket.
        assertEquals(0, buckets.take("10.0.0.2", t));
        // Half a second later one token is back, and only one.
        assertEquals(0, buckets.take("10.0.0.1", t + SECOND / 2));
        assertTrue(buckets.take("10.0.0.1", t + SECOND / 2) > 0);
    }

    @Test
    void memoryIsBoundedIdleClientsAreForgottenAndWhileAllAreActiveANewOneWaits() {
        TokenBuckets buckets = new TokenBuckets(1, 2, 2);
        long t = 0;
        assertEquals(0, buckets.take("a", t));
        assertEquals(0, buckets.take("b", t));
        // Both are refilling: a third client is refused, and nothing grows.
        assertTrue(buckets.take("c", t) > 0);
        assertEquals(2, buckets.tracked());
        // Two seconds on, "a" is full again (idle): it makes room for "c".
        assertEquals(0, buckets.take("c", t + 2 * SECOND));
        assertEquals(2, buckets.tracked());
    }
}
