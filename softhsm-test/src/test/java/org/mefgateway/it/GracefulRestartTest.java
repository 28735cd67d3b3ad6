package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Gateway;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.policy.Oids;

/**
 * A graceful stop ({@code Gateway.close()}, what SIGTERM and Ctrl-C do) in the middle of a burst
 * of enrolments, then a start on the same data directory and token: every request either got a
 * certificate that is in the ledger byte for byte, or an error (never a 500); every Enrolee that
 * got nothing is either in the ledger (its response was lost with the connection) or can enrol
 * now. CrashTest covers kill -9.
 */
class GracefulRestartTest {
    static final int DEVICES = 24;
    static final int RECEIVED_BEFORE_STOP = 4;

    @Test
    void everyAnswerIsACertificateInTheLedgerOrAnErrorAndNothingIsLost() throws Exception {
        DeviceMaker maker = DeviceMaker.create("Restart Maker CA");
        TestGateway mef = TestGateway.start(maker);
        Gateway restarted = null;
        try {
            Map<String, DeviceMaker.Device> devices = new ConcurrentHashMap<>();
            for (int i = 0; i < DEVICES; i++) {
                DeviceMaker.Device device = maker.device("restart-" + i);
                mef.register(device, "ae-restart-" + i, "AE-ID", aeId(i), 40);
                devices.put("ae-restart-" + i, device);
            }

            Map<String, byte[]> received = new ConcurrentHashMap<>();
            Map<String, Integer> errors = new ConcurrentHashMap<>();
            CountDownLatch enough = new CountDownLatch(RECEIVED_BEFORE_STOP);
            ExecutorService clients = Executors.newFixedThreadPool(6);
            URI base = mef.est("");
            for (int i = 0; i < DEVICES; i++) {
                int n = i;
                clients.submit(() -> {
                    String id = "ae-restart-" + n;
                    try {
                        HttpClient client = mef.client(devices.get(id));
                        HttpResponse<String> attrs = TestGateway.get(client, URI.create(base + "/csrattrs"));
                        if (attrs.statusCode() != 200) {
                            errors.put(id, attrs.statusCode());
                            return null;
                        }
                        String csr = TestCsr.p256().challenge(TestCsr.challengeFrom(attrs.body())).uri(aeId(n))
                                .eku(Oids.SUID_EKU_ARC + ".40").base64();
                        HttpResponse<String> r = TestGateway.post(client, URI.create(base + "/simpleenroll"), "application/pkcs10", csr);
                        if (r.statusCode() == 200) {
                            received.put(id, certificate(r.body()));
                            enough.countDown();
                        } else {
                            errors.put(id, r.statusCode());
                        }
                    } catch (Exception connectionRefusedOrClosed) {
                        errors.put(id, -1);
                    }
                    return null;
                });
            }
            assertTrue(enough.await(120, TimeUnit.SECONDS), "enrolments before the stop");
            mef.gateway.close();
            clients.shutdown();
            assertTrue(clients.awaitTermination(120, TimeUnit.SECONDS));
            assertTrue(received.size() < DEVICES, "stopped during the burst, not after it");
            errors.forEach((id, status) -> assertTrue(status == -1 || status == 503,
                    id + " got " + status + ": an interrupted enrolment is a refused connection or a 503, never a 500"));

            restarted = Gateway.start(mef.config, mef.clock);
            List<IssuedCertificate> ledger = restarted.store().certificates();
            for (Map.Entry<String, byte[]> got : received.entrySet()) {
                assertTrue(ledger.stream().anyMatch(c -> Arrays.equals(c.der(), got.getValue())),
                        got.getKey() + " received a certificate, so it must be in the ledger");
            }
            assertTrue(restarted.store().verifyAuditChain().intact(), "audit chain intact across the restart");

            // Nothing stuck: an Enrolee that got nothing either has its certificate in the ledger
            // (the answer was lost with the connection) or enrols now with a fresh challenge.
            URI after = URI.create("https://127.0.0.1:" + restarted.estPort() + "/.well-known/est");
            List<String> retried = new ArrayList<>();
            for (int i = 0; i < DEVICES; i++) {
                String id = "ae-restart-" + i;
                if (received.containsKey(id) || ledger.stream().anyMatch(c -> c.enroleeId().equals(id))) {
                    continue;
                }
                HttpClient client = mef.client(devices.get(id));
                HttpResponse<String> attrs = TestGateway.get(client, URI.create(after + "/csrattrs"));
                assertEquals(200, attrs.statusCode(), id + " is still instructed to enrol: " + attrs.body());
                String csr = TestCsr.p256().challenge(TestCsr.challengeFrom(attrs.body())).uri(aeId(i))
                        .eku(Oids.SUID_EKU_ARC + ".40").base64();
                HttpResponse<String> r = TestGateway.post(client, URI.create(after + "/simpleenroll"), "application/pkcs10", csr);
                assertEquals(200, r.statusCode(), id + " enrols after the restart: " + r.body());
                retried.add(id);
            }
            List<IssuedCertificate> end = restarted.store().certificates();
            assertEquals(DEVICES, end.stream().map(IssuedCertificate::enroleeId).distinct().count(),
                    "every Enrolee has its certificate in the end (retried after the restart: " + retried + ")");
            assertEquals(DEVICES, end.size(), "one certificate per instruction, none twice");
        } finally {
            if (restarted != null) {
                restarted.close();
            }
        }
    }

    private static String aeId(int i) {
        return "//m2m.example.com/CSE3219/restart-" + i;
    }

    private static byte[] certificate(String certsOnlyBase64) throws Exception {
        return new CMSSignedData(Base64.getMimeDecoder().decode(certsOnlyBase64)).getCertificates().getMatches(null)
                .iterator().next().getEncoded();
    }
}
