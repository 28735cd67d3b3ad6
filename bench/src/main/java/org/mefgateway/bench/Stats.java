package org.mefgateway.bench;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** What one load phase saw: completed enrolments, their latencies, and every other outcome by status. */
final class Stats {
    final String name;
    final LongAdder ok = new LongAdder();
    final Map<Integer, LongAdder> failures = new ConcurrentHashMap<>();
    final LongAdder retryAfterOn503 = new LongAdder();
    private long[] latencies = new long[1 << 14];
    private int n;
    private long[] service = new long[1 << 14];
    private int m;
    double seconds;
    /** CPU time (user + system) the gateway process and this load generator spent during the run. */
    long gatewayCpuNanos;
    long loadgenCpuNanos;

    Stats(String name) {
        this.name = name;
    }

    /** A completed enrolment; {@code latencyNanos} from its (scheduled) start, {@code serviceNanos} from when it was sent. */
    synchronized void ok(long latencyNanos, long serviceNanos) {
        ok.increment();
        if (n == latencies.length) {
            latencies = Arrays.copyOf(latencies, n * 2);
        }
        latencies[n++] = latencyNanos;
        if (m == service.length) {
            service = Arrays.copyOf(service, m * 2);
        }
        service[m++] = serviceNanos;
    }

    /** Not issued: the HTTP status of the refusal, or -1 for a connection failure. */
    void failed(int status, boolean retryAfter) {
        failures.computeIfAbsent(status, s -> new LongAdder()).increment();
        if (status == 503 && retryAfter) {
            retryAfterOn503.increment();
        }
    }

    long failed(int status) {
        LongAdder a = failures.get(status);
        return a == null ? 0 : a.sum();
    }

    long failedTotal() {
        return failures.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** Gateway CPU milliseconds per enrolment completed (the machine-independent cost figure). */
    double gatewayCpuMsPerEnrol() {
        return ok.sum() == 0 ? 0 : gatewayCpuNanos / 1e6 / ok.sum();
    }

    /** The load generator's share of the CPU both processes used: near 0.5 or above, the client is the limit. */
    double loadgenCpuShare() {
        long both = gatewayCpuNanos + loadgenCpuNanos;
        return both == 0 ? 0 : (double) loadgenCpuNanos / both;
    }

    double perSecond() {
        return ok.sum() / seconds;
    }

    synchronized double percentileMs(double p) {
        return percentile(latencies, n, p);
    }

    synchronized double servicePercentileMs(double p) {
        return percentile(service, m, p);
    }

    private static double percentile(long[] values, int count, double p) {
        if (count == 0) {
            return Double.NaN;
        }
        long[] sorted = Arrays.copyOf(values, count);
        Arrays.sort(sorted);
        int i = (int) Math.ceil(p / 100.0 * count) - 1;
        return sorted[Math.max(0, Math.min(count - 1, i))] / 1e6;
    }

    String failureText() {
        Map<Integer, Long> sorted = new TreeMap<>();
        failures.forEach((k, v) -> sorted.put(k, v.sum()));
        return sorted.isEmpty() ? "none" : sorted.toString().replace("-1=", "io=");
    }
}
