package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.policy.Oids;

/**
 * The EST listener's limits and its admission control, on a gateway configured small: at most
 * 2 enrolments in flight, 40 connections, and a per-client bucket of 400 requests refilled at one
 * per second. No assertion depends on timing: the in-flight bound is filled deterministically by
 * requests whose body has not arrived yet, and the burst is judged by its statuses and counts.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LimitsAndOverloadTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C0500";
    static final int MAX_CONNECTIONS = 40;
    static DeviceMaker maker;
    static TestGateway mef;
    static int registered;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Limits Maker CA");
        mef = TestGateway.startWithEst("maxInFlight: 2, maxConnections: " + MAX_CONNECTIONS
                + ", rateLimit: {perClientPerSecond: 1, perClientBurst: 400}", Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    private static DeviceMaker.Device registered() throws Exception {
        DeviceMaker.Device d = maker.device("limits-" + ++registered);
        mef.register(d, "ae-limits-" + registered, "AE-ID", AE_ID, 40);
        return d;
    }

    @Test
    @Order(1)
    void connectionsBeyondMaxConnectionsAreClosedAndAFreedSlotServesAgain() throws Exception {
        List<RawHttps> open = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                open.add(RawHttps.connect(mef, null));
            }
            try (RawHttps oneTooMany = RawHttps.connect(mef, null)) {
                String answer = oneTooMany.send("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").readAll();
                assertEquals(List.of(), RawHttps.statuses(answer), "closed without an answer: " + answer);
            }
            open.remove(0).close();
            // The server counts the close asynchronously: try a few times for the freed slot.
            String answer = "";
            for (int i = 0; i < 50 && !answer.startsWith("HTTP/1.1 200"); i++) {
                try (RawHttps next = RawHttps.connect(mef, null)) {
                    answer = next.send("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").readAll();
                }
                if (!answer.startsWith("HTTP/1.1 200")) {
                    Thread.sleep(100);
                }
            }
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        } finally {
            for (RawHttps c : open) {
                c.close();
            }
        }
    }

    @Test
    @Order(2)
    void aClientBeyondItsRateGets429WithRetryAfterWhileOtherClientsAreServed() throws Exception {
        String requests = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(599)
                + "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        String answers;
        // From 127.0.0.5: its own bucket (Linux routes all of 127/8 to loopback).
        try (RawHttps c = RawHttps.connect(mef, null, null, "127.0.0.5")) {
            answers = c.send(requests).readAll();
        }
        List<Integer> statuses = RawHttps.statuses(answers);
        assertEquals(600, statuses.size(), "one answer per request");
        assertTrue(statuses.stream().allMatch(s -> s == 200 || s == 429), statuses.toString());
        long ok = statuses.stream().filter(s -> s == 200).count();
        assertTrue(ok >= 400 && ok < 600, "the burst of 400, and a few refills, are served: " + ok);
        int first429 = answers.indexOf("HTTP/1.1 429");
        String refusal = answers.substring(first429, answers.indexOf("\n\n", first429) > 0 ? answers.indexOf("\n\n", first429) : answers.length());
        assertTrue(answers.substring(first429).contains("Retry-After: 1"), refusal);
        assertTrue(answers.substring(first429, first429 + 300).contains("text/plain"), refusal);
        assertTrue(shedCount("client_rate") >= 600 - ok, "every 429 counted in mef_est_requests_shed_total{reason=client_rate}");
        // Another address is not affected.
        try (RawHttps other = RawHttps.connect(mef, null, null, "127.0.0.6")) {
            assertTrue(other.send("GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .readAll().startsWith("HTTP/1.1 200"));
        }
    }

    @Test
    @Order(3)
    void beyondMaxInFlightAnEnrolmentIs503WithRetryAfterAtOnceAndGoesThroughOnceThereIsRoom() throws Exception {
        DeviceMaker.Device holder = registered();
        DeviceMaker.Device device = registered();
        HttpClient client = mef.client(device);
        String challenge = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
        String csr = TestCsr.p256().challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64();
        int issuedBefore = mef.issued().size();

        // Enrolments whose bodies never arrive hold the slots; they are opened until one is refused,
        // so the bound (2) is full whatever order the server saw them in.
        List<RawHttps> slow = new ArrayList<>();
        try {
            String refused = "";
            for (int i = 0; i < 10 && refused.isEmpty(); i++) {
                RawHttps c = RawHttps.connect(mef, holder);
                c.send("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                        + "Content-Length: 1000\r\n\r\nMIIB");
                slow.add(c);
                refused = c.readWithin(1000);
            }
            assertTrue(refused.startsWith("HTTP/1.1 503"), refused);
            assertTrue(slow.size() >= 3, "two held the slots before one was refused: " + slow.size());
            HttpResponse<String> shed = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
            assertEquals(503, shed.statusCode(), shed.body());
            assertEquals("1", shed.headers().firstValue("Retry-After").orElse(""));
            assertTrue(shed.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
            assertTrue(shed.body().contains("at capacity"), shed.body());
            assertEquals(issuedBefore, mef.issued().size(), "nothing issued");
            assertTrue(shedCount("capacity") >= 2, "both refusals counted in mef_est_requests_shed_total{reason=capacity}");
        } finally {
            for (RawHttps c : slow) {
                c.close();
            }
        }
        // The slots are released with the connections; the same request (its challenge untouched) now succeeds.
        HttpResponse<String> retried = null;
        for (int i = 0; i < 50; i++) {
            retried = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
            if (retried.statusCode() != 503) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(200, retried.statusCode(), retried.body());
        assertEquals(issuedBefore + 1, mef.issued().size());
    }

    /**
     * 24 Enrolees enrol at once, 12 times the in-flight bound, while the admin listener's
     * readiness probe is polled: every answer is 200 or an immediate 503 + Retry-After, every 200
     * is a certificate in the ledger and nothing else is, readiness answers 200 throughout, and
     * each shed Enrolee enrols when it retries.
     */
    @Test
    @Order(4)
    void aBurstAtManyTimesTheBoundNeitherCrashesNorStarvesHealthAndAdmittedRequestsSucceed() throws Exception {
        int clients = 24;
        List<HttpClient> http = new ArrayList<>();
        List<String> csrs = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            HttpClient c = mef.client(registered());
            String challenge = TestCsr.challengeFrom(TestGateway.get(c, mef.est("/csrattrs")).body());
            http.add(c);
            csrs.add(TestCsr.p256().challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64());
        }
        int issuedBefore = mef.issued().size();
        AdminClient admin = new AdminClient(mef.config);
        List<Integer> health = new ArrayList<>();
        AtomicBoolean burstDone = new AtomicBoolean();

        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            burst.add(http.get(i).sendAsync(java.net.http.HttpRequest.newBuilder(mef.est("/simpleenroll"))
                    .header("Content-Type", "application/pkcs10").POST(java.net.http.HttpRequest.BodyPublishers.ofString(csrs.get(i)))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        CompletableFuture.allOf(burst.toArray(CompletableFuture[]::new)).whenComplete((r, e) -> burstDone.set(true));
        do {
            health.add(admin.get("/health/ready").statusCode());
        } while (!burstDone.get());

        List<Integer> statuses = new ArrayList<>();
        List<Integer> shed = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            HttpResponse<String> r = burst.get(i).get();
            statuses.add(r.statusCode());
            if (r.statusCode() == 503) {
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(""), r.body());
                assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
                shed.add(i);
            } else {
                assertEquals(200, r.statusCode(), r.body());
            }
        }
        long ok = statuses.stream().filter(s -> s == 200).count();
        System.out.println("overload burst: " + clients + " enrolments, maxInFlight 2: " + ok + " issued, " + shed.size()
                + " shed with 503; readiness polled " + health.size() + " times during the burst: " + health.stream().distinct().toList());
        assertTrue(ok >= 1, "the admitted requests succeed");
        assertEquals(issuedBefore + ok, mef.issued().size(), "every 200 is in the ledger, nothing else");
        assertTrue(!health.isEmpty() && health.stream().allMatch(s -> s == 200), "readiness during the burst: " + health);

        for (int i : shed) {
            HttpResponse<String> r = TestGateway.post(http.get(i), mef.est("/simpleenroll"), "application/pkcs10", csrs.get(i));
            assertEquals(200, r.statusCode(), "a shed Enrolee enrols on retry: " + r.body());
        }
        assertEquals(issuedBefore + clients, mef.issued().size());
    }

    /** mef_est_requests_shed_total for one reason, read from the admin listener's /metrics. */
    private static double shedCount(String reason) throws Exception {
        String series = "mef_est_requests_shed_total{reason=\"" + reason + "\"} ";
        return new AdminClient(mef.config).get("/metrics").body().lines().filter(l -> l.startsWith(series))
                .mapToDouble(l -> Double.parseDouble(l.substring(series.length()).trim())).findFirst().orElse(-1);
    }
}
