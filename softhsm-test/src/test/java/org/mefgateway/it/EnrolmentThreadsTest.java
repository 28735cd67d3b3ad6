package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.core.EnrolmentSteps.Step;

/**
 * The CPU-bound steps of an enrolment (parsing and proof of possession, the policy decision,
 * building the TBSCertificate, verifying a renewing caller's certificate, encoding the response)
 * run on worker threads, never on an event loop, whichever way the request goes: a first
 * enrolment, a re-enrolment with the certificate being renewed, an approval of a held request.
 */
class EnrolmentThreadsTest {
    static final char[] PASSWORD = "operational".toCharArray();

    static DeviceMaker maker;
    static TestGateway mef;
    /** Each step with the names of the threads it ran on. */
    static final Map<Step, Set<String>> threads = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Threads CA");
        mef = TestGateway.start(Map.of(
                "default.yaml", TestGateway.DEFAULT_PROFILE,
                "held.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 2}\n"), maker);
        mef.gateway.enrolmentSteps().observe((step, thread) -> threads.computeIfAbsent(step, s -> ConcurrentHashMap.newKeySet())
                .add(thread));
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void enrolmentRenewalAndApprovalComputeOnWorkerThreadsOnly() throws Exception {
        // A first enrolment, then its certificate renews itself.
        DeviceMaker.Device device = maker.device("threads-1");
        String aeId = "//m2m.example.com/CSE3219/C-THREADS-1";
        mef.register(device, "threads-1", "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> enrolled = post(bootstrap, "/simpleenroll",
                TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, "")).base64());
        assertEquals(200, enrolled.statusCode(), enrolled.body());
        X509Certificate cert = PolicyProfilesTest.certificate(enrolled);
        KeyStore current = KeyStore.getInstance("PKCS12");
        current.load(null, null);
        current.setKeyEntry("current", keys.getPrivate(), PASSWORD, new Certificate[] {cert});
        HttpClient operational = mef.client(current, PASSWORD);
        HttpResponse<String> renewed = post(operational, "/simplereenroll", TestCsr.p256().subject("CN=" + aeId).uri(aeId)
                .challenge(mef.challenge(operational, "")).base64());
        assertEquals(200, renewed.statusCode(), renewed.body());

        // A held request, approved by the operator.
        DeviceMaker.Device held = maker.device("threads-2");
        String heldAeId = "//m2m.example.com/CSE3219/C-THREADS-2";
        mef.register(held, "threads-2", "AE-ID", heldAeId, 40);
        HttpClient heldClient = mef.client(held);
        String csr = TestCsr.p256().subject("CN=" + heldAeId).uri(heldAeId).challenge(mef.challenge(heldClient, "/held")).base64();
        assertEquals(202, post(heldClient, "/held/simpleenroll", csr).statusCode());
        AdminClient admin = new AdminClient(mef.config);
        JsonArray pending = new JsonArray(admin.get("/admin/requests?status=PENDING").body());
        assertEquals(1, pending.size(), pending.encode());
        HttpResponse<String> approved = admin.postJson("/admin/requests/" + pending.getJsonObject(0).getString("id") + "/approve", "{}");
        assertEquals(200, approved.statusCode(), approved.body());

        assertEquals(Set.of(Step.values()), threads.keySet(), "every step ran: " + threads);
        for (Map.Entry<Step, Set<String>> ran : threads.entrySet()) {
            for (String thread : ran.getValue()) {
                assertFalse(thread.startsWith("vert.x-eventloop-thread"), ran.getKey() + " ran on the event loop: " + thread);
            }
        }
        // The pools they belong on: the store workers authenticate (a signature check, then the ledger), the cpu workers compute.
        assertTrue(onPool(Step.AUTHENTICATE, "mef-store-"), threads.toString());
        for (Step step : List.of(Step.PARSE, Step.DECIDE, Step.BUILD_CERTIFICATE, Step.ENCODE_RESPONSE)) {
            assertTrue(onPool(step, "mef-cpu-"), step + " off the cpu workers: " + threads);
        }
    }

    private static boolean onPool(Step step, String prefix) {
        Set<String> names = threads.get(step);
        return names.stream().allMatch(name -> name.startsWith(prefix));
    }

    private static HttpResponse<String> post(HttpClient client, String path, String csrBase64) throws Exception {
        return TestGateway.post(client, mef.est(path), "application/pkcs10", csrBase64);
    }
}
