package org.mefgateway.it.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;
import org.mefgateway.it.TestDatabase;

/**
 * kill -9 during a burst of enrolments, then a restart: every certificate a client received is in
 * the ledger byte for byte, and the audit chain verifies. On the embedded H2 database (where the
 * group commit syncs the file itself) and on PostgreSQL.
 */
class CrashTest {
    static final int DEVICES = 30;
    static final int RECEIVED_BEFORE_KILL = 8;

    @Test
    void nothingAClientReceivedIsLostOnH2(@TempDir Path dir) throws Exception {
        crashDuringBurstAndRestart(dir, "");
    }

    @Test
    void nothingAClientReceivedIsLostOnPostgres(@TempDir Path dir) throws Exception {
        crashDuringBurstAndRestart(dir, TestDatabase.storeYaml(TestDatabase.postgres().newDatabase(), dir));
    }

    private void crashDuringBurstAndRestart(Path dir, String storeYaml) throws Exception {
        SoftHsm hsm = SoftHsm.fresh("mef-test");
        DeviceMaker maker = DeviceMaker.create("Maker Crash CA");
        GatewayProcess node = GatewayProcess.init(Nodes.config(dir, "node", hsm, Nodes.trust(dir, maker), storeYaml)).start();
        try {
            X509Certificate ca = Pem.read(node.config.dataDir().caCertificate()).get(0);
            Map<String, DeviceMaker.Device> devices = new HashMap<>();
            for (int i = 0; i < DEVICES; i++) {
                DeviceMaker.Device device = maker.device("crash-" + i);
                Nodes.register(node.config, device, "crash-" + i, "//m2m.example.com/CSE1/crash-" + i);
                devices.put("crash-" + i, device);
            }

            List<X509Certificate> received = new CopyOnWriteArrayList<>();
            CountDownLatch enough = new CountDownLatch(RECEIVED_BEFORE_KILL);
            ExecutorService clients = Executors.newFixedThreadPool(6);
            for (Map.Entry<String, DeviceMaker.Device> d : devices.entrySet()) {
                clients.submit(() -> {
                    try {
                        String aeId = "//m2m.example.com/CSE1/" + d.getKey();
                        HttpClient client = Est.client(d.getValue(), ca);
                        HttpResponse<String> r = Est.simpleenroll(client, node.est("/simpleenroll"),
                                Est.csr(aeId, Est.challenge(client, node.est("/csrattrs"))));
                        if (r.statusCode() == 200) {
                            received.add(Est.certificate(r));
                            enough.countDown();
                        }
                    } catch (Exception connectionLostInTheCrash) {
                        // a request in flight at the kill: the client got nothing, the test expects nothing
                    }
                    return null;
                });
            }
            assertTrue(enough.await(120, TimeUnit.SECONDS), "enrolments before the kill");
            node.kill9();
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
            List<X509Certificate> got = List.copyOf(received);
            assertTrue(got.size() < DEVICES, "killed during the burst, not after it");

            node.start();

            JsonArray ledger = new JsonArray(new AdminClient(node.config).get("/admin/certificates").body());
            Map<String, String> derBySerial = new HashMap<>();
            for (int i = 0; i < ledger.size(); i++) {
                derBySerial.put(ledger.getJsonObject(i).getString("serial"), ledger.getJsonObject(i).getString("certificate"));
            }
            for (X509Certificate cert : got) {
                assertEquals(Base64.getEncoder().encodeToString(cert.getEncoded()), derBySerial.get(cert.getSerialNumber().toString(16)),
                        "certificate " + cert.getSerialNumber().toString(16) + " was handed out, so it must be in the ledger");
            }
            JsonObject verify = new JsonObject(new AdminClient(node.config).get("/admin/audit/verify").body());
            assertEquals(true, verify.getBoolean("intact"), verify.encode());
            assertTrue(verify.getLong("verifiedEvents") >= DEVICES + got.size(), "registrations and issuances are all audited");
        } finally {
            node.close();
        }
    }
}
