package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * The EST listener's per-client token bucket (est.rateLimit, one bucket per source address) on a
 * gateway configured so that its arithmetic is exact: a bucket of {@value #BURST} refilled at one
 * request per second, the slowest rate there is. A client's first {@value #BURST} requests take
 * the bucket's tokens, and pipelined on one connection the rest of a burst of {@value #REQUESTS}
 * is answered within milliseconds, long before the next token (a second later): exactly
 * {@value #BURST} are served and every other one is refused with 429 and Retry-After: 1. Each
 * client connects from its own loopback address (Linux routes all of 127/8 to loopback), so its
 * bucket is new; no other request of this class comes from it.
 */
class PerClientRateLimitTest {
    static final int BURST = 10;
    static final int REQUESTS = 30;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        mef = TestGateway.startWithEst("rateLimit: {perClientPerSecond: 1, perClientBurst: " + BURST + "}",
                Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), DeviceMaker.create("Rate Limit Maker CA"));
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** {@code n} requests for cacerts pipelined on one connection from {@code address}, the last closing it; everything answered. */
    private static String burst(String address, int n) throws Exception {
        String request = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        String last = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        try (RawHttps c = RawHttps.connect(mef, null, null, address)) {
            long start = System.nanoTime();
            String answers = c.send(request.repeat(n - 1) + last).readAll();
            System.out.println(n + " requests from " + address + " answered in " + (System.nanoTime() - start) / 1_000_000 + " ms");
            return answers;
        }
    }

    @Test
    void aClientBeyondItsBurstGetsExactly429WithRetryAfterForEveryFurtherRequestWhileAnotherClientIsServed() throws Exception {
        // The code paths warmed up from an address of their own (its bucket is not the one judged),
        // so that the judged burst is answered in milliseconds.
        assertEquals(Collections.nCopies(BURST, 200), RawHttps.statuses(burst("127.0.0.7", BURST)));
        double shedBefore = shedCount("client_rate");

        String answers = burst("127.0.0.5", REQUESTS);

        List<Integer> expected = new ArrayList<>(Collections.nCopies(BURST, 200));
        expected.addAll(Collections.nCopies(REQUESTS - BURST, 429));
        assertEquals(expected, RawHttps.statuses(answers), "the burst's tokens, then nothing: " + answers);
        List<String> refusals = new ArrayList<>();
        for (String response : answers.split("(?=HTTP/1\\.1 \\d{3} )")) {
            if (response.startsWith("HTTP/1.1 429 ")) {
                int end = response.indexOf("\r\n\r\n");
                List<String> headers = List.of(response.substring(0, end).split("\r\n"));
                assertTrue(headers.contains("Retry-After: 1"), "Retry-After: 1 (one token a second): " + response);
                assertTrue(headers.stream().anyMatch(h -> h.startsWith("Content-Type: text/plain")), response);
                refusals.add(response.substring(end + 4).strip());
            }
        }
        assertEquals(Collections.nCopies(REQUESTS - BURST,
                "too many requests from 127.0.0.5: at most 1 per second; retry after 1 s"), refusals);
        assertEquals(shedBefore + REQUESTS - BURST, shedCount("client_rate"),
                "every 429 counted in mef_est_requests_shed_total{reason=\"client_rate\"}");

        // Another address has a bucket of its own: all of its burst is served, and nothing more is counted.
        assertEquals(Collections.nCopies(BURST, 200), RawHttps.statuses(burst("127.0.0.6", BURST)));
        assertEquals(shedBefore + REQUESTS - BURST, shedCount("client_rate"));
    }

    /** mef_est_requests_shed_total for one reason (client_rate has one stage, head), read from the admin listener's /metrics. */
    static double shedCount(String reason) throws Exception {
        String series = "mef_est_requests_shed_total{reason=\"" + reason + "\",stage=\"head\"} ";
        return new AdminClient(mef.config).get("/metrics").body().lines().filter(l -> l.startsWith(series))
                .mapToDouble(l -> Double.parseDouble(l.substring(series.length()).trim())).findFirst().orElse(-1);
    }
}
