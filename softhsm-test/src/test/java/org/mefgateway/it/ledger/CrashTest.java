package org.mefgateway.it.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;
import org.mefgateway.it.TestCsr;
import org.mefgateway.it.TestDatabase;

/**
 * kill -9 during a burst of enrolments, then a restart: every answer of the burst is a
 * certificate or 503 + Retry-After, and every connection error came after the kill (each counted);
 * every certificate a client received is in the ledger byte for byte, and the audit chain
 * verifies. On the embedded H2 database (where the group commit syncs the file itself) and on
 * PostgreSQL.
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

    /** A gateway's answer other than 200: 503 with Retry-After is counted; anything else is a problem. */
    private static void answered(String step, HttpResponse<String> r, Map<String, Integer> otherAnswers, List<String> problems) {
        if (r.statusCode() == 503 && r.headers().firstValue("Retry-After").isPresent()) {
            otherAnswers.merge(step + " 503", 1, Integer::sum);
        } else {
            problems.add(step + ": " + r.statusCode() + " " + r.headers().firstValue("Retry-After").map(s -> "Retry-After: " + s + " ")
                    .orElse("") + r.body().strip());
        }
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

            // Every request of the load ends in exactly one of: a certificate (200); another answer,
            // of which only 503 with Retry-After (shed, or the request deadline) is legitimate from a
            // gateway that is up; a connection error (refused, reset, closed without an answer),
            // which only the kill may cause. Anything else is a problem: any other status (a 500
            // above all), a connection error before the kill, a timeout (a killed process's
            // connections are closed by the kernel at once, nothing hangs), a 200 that is not a certificate.
            List<X509Certificate> received = new CopyOnWriteArrayList<>();
            Map<String, Integer> otherAnswers = new ConcurrentHashMap<>();
            Map<String, Integer> connectionErrors = new ConcurrentHashMap<>();
            List<String> problems = new CopyOnWriteArrayList<>();
            AtomicBoolean killing = new AtomicBoolean();
            CountDownLatch enough = new CountDownLatch(RECEIVED_BEFORE_KILL);
            ExecutorService clients = Executors.newFixedThreadPool(6);
            List<Future<?>> load = new ArrayList<>();
            for (Map.Entry<String, DeviceMaker.Device> d : devices.entrySet()) {
                load.add(clients.submit(() -> {
                    String step = "csrattrs";
                    try {
                        String aeId = "//m2m.example.com/CSE1/" + d.getKey();
                        HttpClient client = Est.client(d.getValue(), ca);
                        HttpResponse<String> attrs = client.send(HttpRequest.newBuilder(node.est("/csrattrs"))
                                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
                        if (attrs.statusCode() != 200) {
                            answered(step, attrs, otherAnswers, problems);
                            return null;
                        }
                        step = "simpleenroll";
                        HttpResponse<String> r = Est.simpleenroll(client, node.est("/simpleenroll"),
                                Est.csr(aeId, TestCsr.challengeFrom(attrs.body())));
                        if (r.statusCode() != 200) {
                            answered(step, r, otherAnswers, problems);
                            return null;
                        }
                        received.add(Est.certificate(r));
                        enough.countDown();
                    } catch (HttpTimeoutException e) {
                        problems.add(step + ": no answer and no error within the timeout: " + e);
                    } catch (IOException e) {
                        if (killing.get()) {
                            connectionErrors.merge(step + " " + e.getClass().getSimpleName(), 1, Integer::sum);
                        } else {
                            problems.add(step + ": connection error before the kill: " + e);
                        }
                    } catch (Exception e) {
                        problems.add(step + ": " + e);
                    }
                    return null;
                }));
            }
            assertTrue(enough.await(120, TimeUnit.SECONDS), "enrolments before the kill; problems so far: " + problems);
            killing.set(true);
            node.kill9();
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
            for (Future<?> f : load) {
                f.get(); // an error thrown by a client thread fails the test here
            }
            List<X509Certificate> got = List.copyOf(received);
            int errors = connectionErrors.values().stream().mapToInt(Integer::intValue).sum();
            int answers = otherAnswers.values().stream().mapToInt(Integer::intValue).sum();
            System.out.println("crash during the burst: " + got.size() + " certificates received, other answers " + otherAnswers
                    + ", connection errors after the kill " + connectionErrors);
            assertEquals(List.of(), problems, "nothing but certificates, 503 + Retry-After, and connection errors after the kill");
            assertEquals(DEVICES, got.size() + answers + errors, "every request ended in exactly one of them");
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
