package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * The request deadline answers 503 while the issuance goes on behind it (here: a ledger write
 * held by a slow database, {@link LedgerGate}). The certificate ends up in the ledger; the
 * device's repeat — after Retry-After, or even while the first request is still being written —
 * gets that certificate, and there is never a second one.
 */
class RedeliveryAfterDeadlineTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Deadline CA");
        mef = TestGateway.startWithEst("requestTimeoutSeconds: 3", Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    record Device(String id, HttpClient client, String challenge) {
    }

    /** A registered device and a way to sign its request again (same key, names and challenge). */
    static Device device() throws Exception {
        int i = ++n;
        DeviceMaker.Device bootstrap = maker.device("deadline-" + i);
        String aeId = "//m2m.example.com/CSE3219/C-DEADLINE-" + i;
        mef.register(bootstrap, "deadline-" + i, "AE-ID", aeId, 40);
        HttpClient client = mef.client(bootstrap);
        return new Device("deadline-" + i, client, mef.challenge(client, ""));
    }

    static String csr(Device d, KeyPair keys) throws Exception {
        String aeId = "//m2m.example.com/CSE3219/C-DEADLINE-" + d.id().substring("deadline-".length());
        return TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(d.challenge()).base64();
    }

    static CompletableFuture<HttpResponse<String>> enrol(Device d, String csr) {
        return d.client().sendAsync(HttpRequest.newBuilder(mef.est("/simpleenroll")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/pkcs10").POST(HttpRequest.BodyPublishers.ofString(csr)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static List<IssuedCertificate> issuedTo(String id) {
        return mef.issued().stream().filter(c -> c.enroleeId().equals(id)).toList();
    }

    @Test
    void theDeadlineAnswers503WhileSigningGoesOnAndTheRepeatGetsThatCertificate() throws Exception {
        Device d = device();
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> first;
        try (LedgerGate gate = LedgerGate.closed(mef)) {
            first = enrol(d, csr(d, keys)).get();
            assertEquals(503, first.statusCode(), first.body());
            assertEquals("1", first.headers().firstValue("Retry-After").orElse(""));
            assertTrue(issuedTo(d.id()).isEmpty(), "still in its ledger write when the deadline answered");
        }
        Instant deadline = Instant.now().plusSeconds(20);
        while (issuedTo(d.id()).isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(20);
        }
        assertEquals(1, issuedTo(d.id()).size(), "the issuance behind the 503 completed");

        HttpResponse<String> repeat = enrol(d, csr(d, keys)).get();

        assertEquals(200, repeat.statusCode(), repeat.body());
        assertEquals(issuedTo(d.id()).get(0).serialHex(), PolicyProfilesTest.certificate(repeat).getSerialNumber().toString(16));
        assertEquals(1, issuedTo(d.id()).size());
    }

    @Test
    void aRepeatArrivingWhileTheFirstIsStillBeingWrittenWaitsForItAndGetsTheSameCertificate() throws Exception {
        Device d = device();
        KeyPair keys = DeviceMaker.ecKeys();
        CompletableFuture<HttpResponse<String>> first;
        CompletableFuture<HttpResponse<String>> repeat;
        try (LedgerGate gate = LedgerGate.closed(mef)) {
            first = enrol(d, csr(d, keys));
            gate.awaitWaiting();
            double joined = joined();
            repeat = enrol(d, csr(d, keys));
            Instant deadline = Instant.now().plusSeconds(20);
            while (joined() == joined && Instant.now().isBefore(deadline)) {
                Thread.sleep(10);
            }
            assertEquals(joined + 1, joined(), "the repeat waits for the request in progress");
            gate.open();
        }

        assertEquals(200, first.get().statusCode(), first.get().body());
        assertEquals(200, repeat.get().statusCode(), repeat.get().body());
        assertEquals(PolicyProfilesTest.certificate(first.get()).getSerialNumber(),
                PolicyProfilesTest.certificate(repeat.get()).getSerialNumber());
        assertEquals(1, issuedTo(d.id()).size());
    }

    static double joined() {
        var counter = mef.gateway.meters().find("mef.enrolment.repeats.joined").tags("profile", "default").counter();
        return counter == null ? 0 : counter.count();
    }
}
