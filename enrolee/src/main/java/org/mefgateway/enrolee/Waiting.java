package org.mefgateway.enrolee;

import java.time.Duration;
import java.time.Instant;

/**
 * The clock and the sleep the Enrolee uses for Retry-After and the renewal window; replaceable so
 * tests need not wait in real time.
 */
interface Waiting {
    Instant now();

    void sleep(Duration duration) throws InterruptedException;

    /** Wall-clock time and {@link Thread#sleep(long)}. */
    Waiting SYSTEM = new Waiting() {
        @Override
        public Instant now() {
            return Instant.now();
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration.toMillis());
        }
    };
}
