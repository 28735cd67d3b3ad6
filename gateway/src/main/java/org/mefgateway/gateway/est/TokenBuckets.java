package org.mefgateway.gateway.est;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-client token buckets (one per source IP address) in bounded memory. A bucket refills at
 * {@code perSecond} up to {@code burst}; a bucket that has refilled completely is the same as a
 * new one, so it is evicted first. The map is kept in least-recently-used order: when it is full
 * and even the least recently seen client is still refilling, every tracked client is active and
 * a new one is refused rather than memory growing. EST's and SCEP's admission each keep their own.
 */
public final class TokenBuckets {
    private static final long NANOS = 1_000_000_000L;

    private final double perNano;
    private final double burst;
    private final int maxClients;
    private final LinkedHashMap<String, Bucket> buckets = new LinkedHashMap<>(16, 0.75f, true);

    private static final class Bucket {
        double tokens;
        long at;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }

        double level(long now, double perNano, double burst) {
            return Math.min(burst, tokens + (now - at) * perNano);
        }
    }

    public TokenBuckets(int perSecond, int burst, int maxClients) {
        this.perNano = (double) perSecond / NANOS;
        this.burst = burst;
        this.maxClients = maxClients;
    }

    /** Takes one token for {@code client} at {@code now} (nanoseconds): 0 when allowed, else nanoseconds until one is there. */
    public synchronized long take(String client, long now) {
        Bucket bucket = buckets.get(client);
        if (bucket == null) {
            if (buckets.size() >= maxClients && !evictIdle(now)) {
                return waitForOne(0);
            }
            bucket = new Bucket(burst, now);
            buckets.put(client, bucket);
        }
        double level = bucket.level(now, perNano, burst);
        bucket.at = now;
        if (level < 1) {
            bucket.tokens = level;
            return waitForOne(level);
        }
        bucket.tokens = level - 1;
        return 0;
    }

    private long waitForOne(double level) {
        return Math.max(1, (long) Math.ceil((1 - level) / perNano));
    }

    /** Removes the least recently seen client if its bucket is full again. */
    private boolean evictIdle(long now) {
        Map.Entry<String, Bucket> eldest = buckets.entrySet().iterator().next();
        if (eldest.getValue().level(now, perNano, burst) < burst) {
            return false;
        }
        buckets.remove(eldest.getKey());
        return true;
    }

    synchronized int tracked() {
        return buckets.size();
    }
}
