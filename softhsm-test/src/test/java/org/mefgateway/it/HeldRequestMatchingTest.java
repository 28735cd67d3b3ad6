package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * Requests held for approval (RFC 7030 4.2.3) are matched by what they ask for — Enrolee, key and
 * names — not by the DER's hash: a client that signs its CSR again on every poll (ECDSA signatures
 * differ every time) finds its request PENDING, APPROVED or REJECTED instead of opening a new
 * one. An Enrolee has at most {@code approval.maxPendingPerEnrolee} requests waiting; another key
 * is refused with the reason, also when many arrive at once.
 */
class HeldRequestMatchingTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Held CA");
        mef = TestGateway.start(Map.of(
                "default.yaml", TestGateway.DEFAULT_PROFILE,
                "held.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 1}\n",
                "held2.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 1, maxPendingPerEnrolee: 2}\n"
                        + "reenrolment: {challenge: none, renewalWindowDays: 0}\nrateLimit: {maxIssuancesPerDay: 0}\n"), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    record Device(String id, String aeId, HttpClient client) {
        String csr(KeyPair keys, String challenge) throws Exception {
            return TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(challenge).base64();
        }
    }

    static Device device() throws Exception {
        int i = ++n;
        DeviceMaker.Device bootstrap = maker.device("held-match-" + i);
        String aeId = "//m2m.example.com/CSE3219/C-HELD-MATCH-" + i;
        mef.register(bootstrap, "held-match-" + i, "AE-ID", aeId, 40);
        return new Device("held-match-" + i, aeId, mef.client(bootstrap));
    }

    static HttpResponse<String> post(HttpClient client, String path, String csr) throws Exception {
        return TestGateway.post(client, mef.est(path), "application/pkcs10", csr);
    }

    static List<JsonObject> requestsOf(String enroleeId, String status) throws Exception {
        JsonArray all = new JsonArray(admin.get("/admin/requests?status=" + status).body());
        List<JsonObject> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (all.getJsonObject(i).getString("enroleeId").equals(enroleeId)) {
                out.add(all.getJsonObject(i));
            }
        }
        return out;
    }

    @Test
    void aRequestSignedAgainOnEveryPollFindsItsHeldRequestAndGetsTheApprovedCertificate() throws Exception {
        Device d = device();
        KeyPair keys = DeviceMaker.ecKeys();
        String challenge = mef.challenge(d.client(), "/held");

        assertEquals(202, post(d.client(), "/held/simpleenroll", d.csr(keys, challenge)).statusCode());
        assertEquals(202, post(d.client(), "/held/simpleenroll", d.csr(keys, challenge)).statusCode());
        assertEquals(202, post(d.client(), "/held/simpleenroll", d.csr(keys, challenge)).statusCode());
        List<JsonObject> pending = requestsOf(d.id(), "PENDING");
        assertEquals(1, pending.size(), "three polls, one held request");

        HttpResponse<String> approved = admin.postJson("/admin/requests/" + pending.get(0).getString("id") + "/approve", "{}");
        assertEquals(200, approved.statusCode(), approved.body());
        HttpResponse<String> poll = post(d.client(), "/held/simpleenroll", d.csr(keys, challenge));

        assertEquals(200, poll.statusCode(), poll.body());
        assertEquals(new JsonObject(approved.body()).getString("serial"),
                PolicyProfilesTest.certificate(poll).getSerialNumber().toString(16));
    }

    @Test
    void afterARejectionTheRepeatAndCsrattrsSayThatTheOperatorRejectedIt() throws Exception {
        Device d = device();
        KeyPair keys = DeviceMaker.ecKeys();
        String challenge = mef.challenge(d.client(), "/held");
        assertEquals(202, post(d.client(), "/held/simpleenroll", d.csr(keys, challenge)).statusCode());
        String id = requestsOf(d.id(), "PENDING").get(0).getString("id");
        assertEquals(200, admin.postJson("/admin/requests/" + id + "/reject", "{\"reason\":\"device not in the roll-out\"}").statusCode());

        HttpResponse<String> repeat = post(d.client(), "/held/simpleenroll", d.csr(keys, challenge));
        HttpResponse<String> attrs = TestGateway.get(d.client(), mef.est("/held/csrattrs"));

        assertRefused(repeat, "approval.rejected", "held");
        assertTrue(repeat.body().contains("device not in the roll-out"), repeat.body());
        assertRefused(attrs, "enrolee.no-pending-command", "held");
        assertTrue(attrs.body().contains("an operator rejected its request " + id + " (device not in the roll-out); the operator "
                + "must instruct it again"), attrs.body());
    }

    @Test
    void anotherKeyWhileTheFirstEnrolmentWaitsIsToldAboutTheWaitingRequest() throws Exception {
        Device d = device();
        String challenge = mef.challenge(d.client(), "/held");
        assertEquals(202, post(d.client(), "/held/simpleenroll", d.csr(DeviceMaker.ecKeys(), challenge)).statusCode());
        String id = requestsOf(d.id(), "PENDING").get(0).getString("id");

        HttpResponse<String> otherKey = post(d.client(), "/held/simpleenroll", d.csr(DeviceMaker.ecKeys(), challenge));

        assertRefused(otherKey, "enrolee.no-pending-command", "held");
        assertTrue(otherKey.body().contains("its request " + id + " is waiting for an operator's approval"), otherKey.body());
        assertEquals(1, requestsOf(d.id(), "PENDING").size());
    }

    @Test
    void renewalsWithNewKeysWaitAtMostTwoAtATimeEvenWhenTheyArriveTogether() throws Exception {
        Device d = device();
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> first = post(d.client(), "/simpleenroll", d.csr(keys, mef.challenge(d.client(), "")));
        assertEquals(200, first.statusCode(), first.body());
        HttpClient current = mef.client(keys, PolicyProfilesTest.certificate(first));
        // Issued under default, renewed under held2: the operator moves the Enrolee to it.
        assertEquals(200, admin.postJson("/admin/enrolees/" + d.id() + "/instruct", "{\"profiles\":[\"held2\"]}").statusCode());

        List<Callable<HttpResponse<String>>> renewals = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String csr = d.csr(DeviceMaker.ecKeys(), null);
            renewals.add(() -> post(current, "/held2/simplereenroll", csr));
        }
        ExecutorService pool = Executors.newFixedThreadPool(12);
        List<Integer> statuses = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        try {
            for (Future<HttpResponse<String>> f : pool.invokeAll(renewals)) {
                statuses.add(f.get().statusCode());
                if (f.get().statusCode() == 403) {
                    refusals.add(f.get().body());
                }
            }
        } finally {
            pool.shutdownNow();
        }

        assertEquals(2, statuses.stream().filter(s -> s == 202).count(), statuses.toString());
        assertEquals(10, statuses.stream().filter(s -> s == 403).count(), statuses.toString());
        assertTrue(refusals.stream().allMatch(b -> b.startsWith("refused by rule approval.pending-limit of profile held2: Enrolee "
                + d.id() + " already has 2 request(s) waiting")), refusals.toString());
        assertEquals(2, requestsOf(d.id(), "PENDING").size());
    }

    static void assertRefused(HttpResponse<String> r, String rule, String profile) {
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("refused by rule " + rule + " of profile " + profile + ": "), r.body());
    }
}
