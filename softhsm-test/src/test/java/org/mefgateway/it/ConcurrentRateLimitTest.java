package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * A profile's per-Enrolee limit (rateLimit.maxIssuancesPerDay) holds under concurrency: it is
 * decided in the same transaction that claims the issuance, with the Enrolee's row locked and the
 * issuances claimed but not yet recorded counted, so N parallel requests against a limit of L
 * issue exactly L. The same check decides operator approvals made at once.
 */
class ConcurrentRateLimitTest {
    static final int PARALLEL = 50;
    static final int HELD = 10;
    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static Enrolled burst;
    static Enrolled held;

    /**
     * Both Enrolees get their first certificate, then the gateway's clock moves a day on, so
     * nothing counts against their limits. (Once: a certificate issued after the move is not yet
     * valid for the client's TLS handshake, which checks against the real time.)
     */
    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Concurrent Rate CA");
        mef = TestGateway.start(Map.of(
                "default.yaml", TestGateway.DEFAULT_PROFILE + "rateLimit: {maxIssuancesPerDay: 3}\n",
                "held.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 1, maxPendingPerEnrolee: " + HELD
                        + "}\nreenrolment: {challenge: none}\nrateLimit: {maxIssuancesPerDay: 1}\n"), maker);
        admin = new AdminClient(mef.config);
        burst = enrolled("rate-burst");
        held = enrolled("rate-held");
        mef.clock.advance(Duration.ofHours(25));
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** An Enrolee with its first certificate. */
    record Enrolled(String id, String aeId, KeyPair keys, X509Certificate cert) {
        String csr(String challenge) throws Exception {
            return TestCsr.p256().keys(DeviceMaker.ecKeys()).subject("CN=" + aeId).uri(aeId).challenge(challenge).base64();
        }

        Set<String> renewals() {
            return mef.issued().stream().filter(c -> c.enroleeId().equals(id))
                    .map(IssuedCertificate::serialHex).filter(s -> !s.equals(cert.getSerialNumber().toString(16)))
                    .collect(Collectors.toSet());
        }
    }

    static Enrolled enrolled(String id) throws Exception {
        DeviceMaker.Device device = maker.device(id);
        String aeId = "//m2m.example.com/CSE3219/C-" + id.toUpperCase(java.util.Locale.ROOT);
        mef.register(device, id, "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> r = post(bootstrap, "/simpleenroll",
                TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, "")).base64());
        assertEquals(200, r.statusCode(), r.body());
        return new Enrolled(id, aeId, keys, PolicyProfilesTest.certificate(r));
    }

    static HttpResponse<String> post(HttpClient client, String path, String csr) throws Exception {
        return TestGateway.post(client, mef.est(path), "application/pkcs10", csr);
    }

    /** Runs every call at once, one thread each; the answers in the order of the calls. */
    static <T> List<T> allAtOnce(List<Callable<T>> calls) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(calls.size());
        try {
            List<T> out = new ArrayList<>();
            for (Future<T> f : pool.invokeAll(calls)) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void fiftyParallelRenewalsWithNewKeysAgainstALimitOfThreeIssueExactlyThree() throws Exception {
        Enrolled e = burst;
        HttpClient current = mef.client(e.keys(), e.cert());
        List<Callable<HttpResponse<String>>> renewals = new ArrayList<>();
        for (int i = 0; i < PARALLEL; i++) {
            String csr = e.csr(mef.challenge(current, ""));
            renewals.add(() -> post(current, "/simplereenroll", csr));
        }

        List<HttpResponse<String>> answers = allAtOnce(renewals);

        List<Integer> statuses = answers.stream().map(HttpResponse::statusCode).toList();
        System.out.println("[rate] " + PARALLEL + " parallel renewals against a limit of 3: issued "
                + statuses.stream().filter(s -> s == 200).count() + ", statuses " + statuses);
        assertEquals(3, statuses.stream().filter(s -> s == 200).count(), statuses.toString());
        assertEquals(PARALLEL - 3, statuses.stream().filter(s -> s == 429).count(), statuses.toString());
        for (HttpResponse<String> limited : answers.stream().filter(r -> r.statusCode() == 429).toList()) {
            assertTrue(limited.body().startsWith("refused by rule rate.per-enrolee of profile default: Enrolee rate-burst "),
                    limited.body());
            assertEquals("3600", limited.headers().firstValue("Retry-After").orElse("none"), limited.body());
        }
        Set<String> handedOut = new java.util.HashSet<>();
        for (HttpResponse<String> issued : answers.stream().filter(r -> r.statusCode() == 200).toList()) {
            handedOut.add(PolicyProfilesTest.certificate(issued).getSerialNumber().toString(16));
        }
        assertEquals(handedOut, e.renewals(), "the ledger holds exactly the three certificates handed out");
        assertEquals(3, handedOut.size());
    }

    @Test
    void tenHeldRenewalsApprovedAtOnceAgainstALimitOfOneIssueOneAndTheOthersStayPending() throws Exception {
        Enrolled e = held;
        assertEquals(200, admin.postJson("/admin/enrolees/" + e.id() + "/instruct", "{\"profiles\":[\"held\"]}").statusCode());
        HttpClient current = mef.client(e.keys(), e.cert());
        for (int i = 0; i < HELD; i++) {
            HttpResponse<String> r = post(current, "/held/simplereenroll", e.csr(null));
            assertEquals(202, r.statusCode(), r.body());
        }
        List<String> pending = requestIds(e.id(), "PENDING");
        assertEquals(HELD, pending.size(), "held requests do not count against the limit");
        List<Callable<HttpResponse<String>>> approvals = new ArrayList<>();
        for (String id : pending) {
            AdminClient operator = new AdminClient(mef.config);
            assertEquals(200, operator.get("/admin/policy").statusCode(), "connected before the approvals start");
            approvals.add(() -> operator.postJson("/admin/requests/" + id + "/approve", "{}"));
        }

        List<HttpResponse<String>> answers = allAtOnce(approvals);

        List<Integer> statuses = answers.stream().map(HttpResponse::statusCode).toList();
        System.out.println("[rate] " + HELD + " parallel approvals against a limit of 1: issued "
                + statuses.stream().filter(s -> s == 200).count() + ", statuses " + statuses);
        assertEquals(1, statuses.stream().filter(s -> s == 200).count(), statuses.toString());
        assertEquals(HELD - 1, statuses.stream().filter(s -> s == 409).count(), statuses.toString());
        for (HttpResponse<String> refused : answers.stream().filter(r -> r.statusCode() == 409).toList()) {
            assertTrue(refused.body().startsWith("refused by rule rate.per-enrolee of profile held: "), refused.body());
        }
        assertEquals(1, e.renewals().size());
        assertEquals(1, requestIds(e.id(), "APPROVED").size());
        assertEquals(HELD - 1, requestIds(e.id(), "PENDING").size(), "a refused approval leaves its request pending");
    }

    static List<String> requestIds(String enroleeId, String status) throws Exception {
        JsonArray all = new JsonArray(admin.get("/admin/requests?status=" + status).body());
        List<String> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            JsonObject r = all.getJsonObject(i);
            if (r.getString("enroleeId").equals(enroleeId)) {
                out.add(r.getString("id"));
            }
        }
        return out;
    }
}
