package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What one enrolment costs the gateway, counted: the statements it sends to the database
 * ({@code mef_store_statements_total}) and its hops to worker pools (tasks on mef-cpu and
 * mef-store, the HSM signature, the write handed to the ledger's group commit). The counts are
 * pinned exactly, read from the gateway's meters before and after one request, so a change that
 * adds a statement or a hop to the hot path fails here and says which. (Counts, not timing: the
 * time they take is measured by ops/bench e2e.)
 */
class EnrolmentCostTest {
    static final char[] PASSWORD = "operational".toCharArray();

    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Cost CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void oneEnrolmentAndOneReenrolmentSendExactlyTheseStatementsAndHops() throws Exception {
        DeviceMaker.Device device = maker.device("cost-1");
        String aeId = "//m2m.example.com/CSE3219/C-COST-1";
        mef.register(device, "cost-1", "AE-ID", aeId, 40);
        HttpClient bootstrap = mef.client(device);
        KeyPair keys = DeviceMaker.ecKeys();
        String csr = TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(bootstrap, "")).base64();

        Cost before = cost();
        HttpResponse<String> enrolled = TestGateway.post(bootstrap, mef.est("/simpleenroll"), "application/pkcs10", csr);
        assertEquals(200, enrolled.statusCode(), enrolled.body());
        Cost enrolment = cost().minus(before);

        assertEquals(new TreeMap<>(Map.ofEntries(
                Map.entry("select enrolee", 1.0),            // authenticate (the claim's update of the command locks its row)
                Map.entry("select pending_request", 1.0),    // is it a repeat of a held request?
                Map.entry("select issued_certificate", 3.0), // a repeat of an issued one? the per-Enrolee count; the reservation's count
                Map.entry("select challenge", 1.0),          // the challenge, for policy
                Map.entry("update challenge", 1.0),          // the claim: single use of the challenge,
                Map.entry("insert issuance_reservation", 1.0), // a place under the per-Enrolee limit,
                Map.entry("update enrolee", 2.0),            // the command; its result OK, with the certificate
                Map.entry("commit", 2.0),                    // the claim; the group commit
                Map.entry("insert issued_certificate", 1.0),
                Map.entry("delete issuance_reservation", 1.0), // the place, now the certificate (and places left by a dead process)
                Map.entry("insert audit_event", 1.0),        // certificate.issued, after the head the last group commit left
                Map.entry("checkpoint", 1.0))),              // durable before the answer (H2)
                enrolment.statements(), "statements of one simpleenroll");
        // cpu: parse, decide and build the TBSCertificate, encode the answer; store: authenticate, look up, claim.
        assertEquals(new TreeMap<>(Map.of("mef-cpu", 3.0, "mef-store", 3.0, "signer", 1.0, "ledger", 1.0)),
                enrolment.dispatches(), "hops of one simpleenroll");

        X509Certificate cert = PolicyProfilesTest.certificate(enrolled);
        KeyStore current = KeyStore.getInstance("PKCS12");
        current.load(null, null);
        current.setKeyEntry("current", keys.getPrivate(), PASSWORD, new Certificate[] {cert});
        HttpClient operational = mef.client(current, PASSWORD);
        String renewal = TestCsr.p256().subject("CN=" + aeId).uri(aeId).challenge(mef.challenge(operational, "")).base64();

        before = cost();
        HttpResponse<String> renewed = TestGateway.post(operational, mef.est("/simplereenroll"), "application/pkcs10", renewal);
        assertEquals(200, renewed.statusCode(), renewed.body());
        Cost reenrolment = cost().minus(before);

        // A re-enrolment claims no command and records no command result; it finds its Enrolee by the certificate it renews.
        assertEquals(new TreeMap<>(Map.ofEntries(
                Map.entry("select issued_certificate", 4.0), // authenticate: the certificate renewed with its Enrolee; repeat; count; reservation
                Map.entry("select enrolee", 1.0),            // the claim locks the Enrolee's row (it claims no command)
                Map.entry("select pending_request", 1.0),
                Map.entry("select challenge", 1.0),
                Map.entry("update challenge", 1.0),
                Map.entry("insert issuance_reservation", 1.0),
                Map.entry("commit", 2.0),
                Map.entry("insert issued_certificate", 1.0),
                Map.entry("delete issuance_reservation", 1.0),
                Map.entry("insert audit_event", 1.0),
                Map.entry("checkpoint", 1.0))),
                reenrolment.statements(), "statements of one simplereenroll");
        assertEquals(new TreeMap<>(Map.of("mef-cpu", 3.0, "mef-store", 3.0, "signer", 1.0, "ledger", 1.0)),
                reenrolment.dispatches(), "hops of one simplereenroll");
    }

    /** Running totals, by statement and by pool. */
    record Cost(TreeMap<String, Double> statements, TreeMap<String, Double> dispatches) {
        Cost minus(Cost earlier) {
            return new Cost(minus(statements, earlier.statements), minus(dispatches, earlier.dispatches));
        }

        private static TreeMap<String, Double> minus(Map<String, Double> now, Map<String, Double> earlier) {
            TreeMap<String, Double> delta = new TreeMap<>();
            now.forEach((k, v) -> {
                double d = v - earlier.getOrDefault(k, 0.0);
                if (d != 0) {
                    delta.put(k, d);
                }
            });
            return delta;
        }
    }

    /**
     * The totals once the gateway is idle: work handed to the pools after the answer (the command
     * result) has run by then. A lone request's group commit is a batch of one, so its statements
     * (audit head, audit insert, commit, checkpoint) count here in full; under load a batch shares them.
     */
    static Cost cost() throws InterruptedException {
        MeterRegistry meters = mef.gateway.meters();
        while (busy(meters, "mef-cpu") || busy(meters, "mef-store")) {
            Thread.sleep(5);
        }
        TreeMap<String, Double> statements = new TreeMap<>();
        for (Counter c : meters.find("mef.store.statements").counters()) {
            statements.merge(c.getId().getTag("statement"), c.count(), Double::sum);
        }
        TreeMap<String, Double> dispatches = new TreeMap<>();
        for (String pool : new String[] {"mef-cpu", "mef-store"}) {
            dispatches.put(pool, meters.get("vertx.pool.completed").tags("pool_name", pool).counter().count());
        }
        // Every key's signer (CA, OCSP responder): a lookup by name alone would pick one of them.
        dispatches.put("signer", meters.find("mef.hsm.sign").timers().stream().mapToDouble(Timer::count).sum());
        dispatches.put("ledger", meters.get("mef.store.commit.batch.size").summary().totalAmount());
        return new Cost(statements, dispatches);
    }

    private static boolean busy(MeterRegistry meters, String pool) {
        Gauge inUse = meters.get("vertx.pool.in.use").tags("pool_name", pool).gauge();
        Gauge pending = meters.get("vertx.pool.queue.pending").tags("pool_name", pool).gauge();
        return inUse.value() > 0 || pending.value() > 0;
    }
}
