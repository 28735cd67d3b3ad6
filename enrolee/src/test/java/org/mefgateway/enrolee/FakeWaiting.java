package org.mefgateway.enrolee;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** A clock that starts at the real now and only moves when the code under test sleeps; records the sleeps. */
final class FakeWaiting implements Waiting {
    private Instant now = Instant.now();
    final List<Duration> sleeps = new ArrayList<>();

    @Override
    public synchronized Instant now() {
        return now;
    }

    @Override
    public synchronized void sleep(Duration duration) {
        sleeps.add(duration);
        now = now.plus(duration);
    }
}
