package org.mefgateway.it.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.TestCsr;
import org.mefgateway.it.TestGateway;
import org.mefgateway.policy.Oids;

/**
 * The token's storage disappears under enrolment load and comes back, as it really happens to a
 * SoftHSM2 token, nothing staged inside the gateway: the token's directory moved away, its object
 * files moved away, the whole token store replaced by an empty directory (a volume that is
 * unmounted leaves its empty mount point; SoftHSM then lists no token: the slot is gone). SoftHSM
 * reads its token store only when the PKCS#11 module is initialised, so no new provider instance
 * alone ever sees the token again: the gateway has to finalise the module and initialise it again.
 *
 * <p>For each fault, while three Enrolees enrol continuously (re-instructed through the admin API
 * after each certificate; after a 503 the same request is sent again): every EST answer is a
 * certificate (200) or 503 with Retry-After, never anything else; readiness goes DOWN and comes back
 * UP without a restart; every Enrolee is issued again within 60 s of the restore; every certificate
 * a client received verifies under the CA key and is in the ledger exactly once, and the ledger holds
 * no certificate of theirs that no client received; the token was re-initialised once, after at
 * least one reload of the module.
 */
class TokenStorageFaultTest {
    static final int CLIENTS = 3;
    static final Duration RECOVERY = Duration.ofSeconds(60);
    static final String SUCCESSES = "mef_hsm_reinitialisations_total{key=\"default\",outcome=\"success\",token=\"mef-test\"}";
    static final String RELOADS = "mef_hsm_module_reloads_total{key=\"default\",token=\"mef-test\"}";

    /** One gateway for the class: SoftHSM is loaded once per JVM, with the token of the first gateway. */
    static DeviceMaker maker;
    static TestGateway mef;
    static HttpClient monitor;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Token Storage Fault Maker CA");
        // No per-client or per-Enrolee limit: the load is three clients from one address, and every
        // answer other than a certificate or the HSM's 503 is a failure of this test.
        mef = TestGateway.startWithEst("rateLimit: {perClientPerSecond: 0}",
                Map.of("default.yaml", TestGateway.DEFAULT_PROFILE + "rateLimit: {maxIssuancesPerDay: 0}\n"), maker);
        monitor = mef.client(null);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void theTokensDirectoryMovedAwayForElevenSecondsAndBackIsServedAgainWithoutRestart() throws Exception {
        Path token = tokenDirectory();
        Path away = mef.hsm.dir.resolve("token-away");
        survives("dir", "token directory moved away", Duration.ofSeconds(11),
                () -> Files.move(token, away),
                () -> Files.move(away, token));
    }

    @Test
    void theTokensObjectFilesMovedAwayForSixSecondsAndBackAreServedAgainWithoutRestart() throws Exception {
        Path token = tokenDirectory();
        Path away = Files.createDirectories(mef.hsm.dir.resolve("objects-away"));
        survives("objects", "object files moved away", Duration.ofSeconds(6),
                () -> moveObjectFiles(token, away),
                () -> moveObjectFiles(away, token));
    }

    @Test
    void theTokenStoreReplacedByAnEmptyDirectoryForTenSecondsAndBackIsServedAgainWithoutRestart() throws Exception {
        Path store = mef.hsm.dir.resolve("tokens");
        Path away = mef.hsm.dir.resolve("store-away");
        survives("store", "token store replaced by an empty directory (slot gone)", Duration.ofSeconds(10),
                () -> {
                    Files.move(store, away);
                    Files.createDirectory(store);
                },
                () -> {
                    Files.delete(store);
                    Files.move(away, store);
                });
    }

    /**
     * Enrolment load, the fault for {@code length}, the restore; then the assertions of the class
     * comment. Prints what it observed (the time from the restore to the first certificate is the
     * figure the README reports; it is measured, not asserted). {@code name} is short because it
     * goes into the Enrolees' AE-ID URI, whose host-like first part Java's X.509 parser reads as
     * DNS labels of at most 63 characters.
     */
    private void survives(String name, String fault, Duration length, FileChange breakIt, FileChange restoreIt) throws Exception {
        awaitReady(200, Instant.now().plus(RECOVERY));
        double successesBefore = metric(SUCCESSES);
        double reloadsBefore = metric(RELOADS);
        Load load = new Load(name);
        Instant restored;
        try {
            load.await(() -> load.everyClientIssuedSince(Instant.EPOCH, 2), Instant.now().plus(RECOVERY), "issuing before the fault");

            breakIt.apply();
            Instant broken = Instant.now();
            HttpResponse<String> down = awaitReady(503, broken.plus(RECOVERY));
            assertEquals("DOWN", new JsonObject(down.body()).getString("hsm"), down.body());
            Instant readyDown = Instant.now();
            load.await(() -> Instant.now().isAfter(broken.plus(length)), broken.plus(length).plus(RECOVERY), "the fault's length");
            int refusedDuringFault = load.refused();

            restoreIt.apply();
            restored = Instant.now();
            load.await(() -> load.everyClientIssuedSince(restored, 1), restored.plus(RECOVERY),
                    "every Enrolee issued again within " + RECOVERY.toSeconds() + " s of the restore");
            awaitReady(200, restored.plus(RECOVERY));
            Instant readyUp = Instant.now();
            load.stop();

            System.out.printf("%s for %d s: readiness DOWN %d ms after the fault; 503 + Retry-After during the fault: %d;"
                            + " first certificate %d ms after the restore; ready again %d ms after the restore;"
                            + " certificates issued: %d; module reloads: %.0f%n",
                    fault, length.toSeconds(), Duration.between(broken, readyDown).toMillis(), refusedDuringFault,
                    Duration.between(restored, load.firstIssuedSince(restored)).toMillis(), Duration.between(restored, readyUp).toMillis(),
                    load.received().size(), metric(RELOADS) - reloadsBefore);
            assertTrue(refusedDuringFault > 0, "requests during the fault were refused with 503 + Retry-After");
        } finally {
            load.stop();
        }

        assertEquals(List.of(), load.unexpected, "every answer is a certificate or 503 with Retry-After");
        List<String> receivedDer = load.received().stream().map(der -> Base64.getEncoder().encodeToString(der)).sorted().toList();
        List<String> ledgerDer = mef.issued().stream().filter(c -> load.enrolees.contains(c.enroleeId()))
                .map(IssuedCertificate::der).map(der -> Base64.getEncoder().encodeToString(der)).sorted().toList();
        assertEquals(receivedDer, ledgerDer, "every certificate received is in the ledger exactly once, and nothing else was issued to them");
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        for (byte[] der : load.received()) {
            ((X509Certificate) x509.generateCertificate(new java.io.ByteArrayInputStream(der))).verify(mef.caCertificate.getPublicKey());
        }
        assertEquals(successesBefore + 1, metric(SUCCESSES), "the token was re-initialised once, without a restart");
        assertTrue(metric(RELOADS) > reloadsBefore, "the PKCS#11 module was finalised and initialised again");
    }

    /** The one token's own directory under SoftHSM's token store. */
    private static Path tokenDirectory() throws Exception {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(mef.hsm.dir.resolve("tokens"), Files::isDirectory)) {
            List<Path> all = new ArrayList<>();
            dirs.forEach(all::add);
            assertEquals(1, all.size(), "one token in the store: " + all);
            return all.get(0);
        }
    }

    /** {@code *.object}: the token's own (token.object) and one per key, certificate and public key. */
    private static void moveObjectFiles(Path from, Path to) throws Exception {
        try (DirectoryStream<Path> objects = Files.newDirectoryStream(from, "*.object")) {
            for (Path object : objects) {
                Files.move(object, to.resolve(object.getFileName()));
            }
        }
    }

    /** Polls /health/ready until it answers {@code status}; fails at the deadline. */
    private static HttpResponse<String> awaitReady(int status, Instant deadline) throws Exception {
        while (true) {
            HttpResponse<String> r = TestGateway.get(monitor, admin("/health/ready"));
            if (r.statusCode() == status) {
                return r;
            }
            assertTrue(Instant.now().isBefore(deadline), "readiness still " + r.statusCode() + ": " + r.body());
            Thread.sleep(50);
        }
    }

    /** One sample of the Prometheus scrape, 0 while it is not there yet. */
    private static double metric(String sample) throws Exception {
        String scrape = TestGateway.get(monitor, admin("/metrics")).body();
        for (String line : scrape.split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).strip());
            }
        }
        return 0;
    }

    private static java.net.URI admin(String path) {
        return java.net.URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + path);
    }

    @FunctionalInterface
    interface FileChange {
        void apply() throws Exception;
    }

    /**
     * {@value #CLIENTS} registered Enrolees enrolling continuously, each on its own thread:
     * csrattrs, simpleenroll (after a 503 the same request again, 100 ms later), and after each
     * certificate the operator instructs the Enrolee again through the admin API. Every answer that
     * is neither a certificate nor 503 with Retry-After is kept in {@link #unexpected}.
     */
    static final class Load {
        final List<String> enrolees = new ArrayList<>();
        final List<String> unexpected = Collections.synchronizedList(new ArrayList<>());
        private final Map<String, List<Issued>> issued = new ConcurrentHashMap<>();
        private final Map<String, Integer> refusals = new ConcurrentHashMap<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();

        record Issued(Instant at, byte[] der) {
        }

        Load(String name) throws Exception {
            for (int i = 0; i < CLIENTS; i++) {
                String id = "ae-" + name + "-" + i;
                String aeId = "//m2m.example.com/CSE3219/" + id;
                DeviceMaker.Device device = maker.device(id);
                mef.register(device, id, "AE-ID", aeId, 40);
                enrolees.add(id);
                issued.put(id, new CopyOnWriteArrayList<>()); // read by stream while clients add: a synchronizedList is not safe to stream
                HttpClient client = mef.client(device);
                Thread t = new Thread(() -> enrolContinuously(id, aeId, client), "load-" + id);
                threads.add(t);
                t.start();
            }
        }

        private void enrolContinuously(String id, String aeId, HttpClient client) {
            try {
                AdminClient admin = new AdminClient(mef.config);
                while (running.get()) {
                    HttpResponse<String> attrs = TestGateway.get(client, mef.est("/csrattrs"));
                    if (!answered(id, "csrattrs", attrs)) {
                        continue;
                    }
                    String csr = TestCsr.p256().challenge(TestCsr.challengeFrom(attrs.body())).uri(aeId)
                            .eku(Oids.SUID_EKU_ARC + ".40").base64();
                    HttpResponse<String> r = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
                    while (!answered(id, "simpleenroll", r) && running.get()) {
                        r = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
                    }
                    if (r.statusCode() == 200) {
                        byte[] der = new CMSSignedData(Base64.getMimeDecoder().decode(r.body())).getCertificates().getMatches(null)
                                .iterator().next().getEncoded();
                        issued.get(id).add(new Issued(Instant.now(), der));
                        HttpResponse<String> instructed = admin.postJson("/admin/enrolees/" + id + "/instruct", "{}");
                        if (instructed.statusCode() != 200) {
                            unexpected.add(id + " instruct: " + instructed.statusCode() + " " + instructed.body());
                            return;
                        }
                    }
                }
            } catch (Exception e) {
                unexpected.add(id + ": " + e);
            }
        }

        /**
         * True for 200; false, after a 100 ms pause, for 503 with Retry-After (counted); anything
         * else is recorded as unexpected and stops this client.
         */
        private boolean answered(String id, String what, HttpResponse<String> r) throws InterruptedException {
            if (r.statusCode() == 200) {
                return true;
            }
            if (r.statusCode() == 503 && r.headers().firstValue("Retry-After").isPresent()) {
                refusals.merge(id, 1, Integer::sum);
                Thread.sleep(100);
                return false;
            }
            unexpected.add(id + " " + what + ": " + r.statusCode() + " " + r.headers().firstValue("Retry-After").orElse("(no Retry-After)")
                    + " " + r.body());
            running.set(false);
            return false;
        }

        boolean everyClientIssuedSince(Instant since, int count) {
            return enrolees.stream().allMatch(id -> issued.get(id).stream().filter(c -> c.at().isAfter(since)).count() >= count);
        }

        Instant firstIssuedSince(Instant since) {
            return issued.values().stream().flatMap(List::stream).map(Issued::at).filter(at -> at.isAfter(since)).min(Instant::compareTo)
                    .orElseThrow();
        }

        int refused() {
            return refusals.values().stream().mapToInt(Integer::intValue).sum();
        }

        List<byte[]> received() {
            return issued.values().stream().flatMap(List::stream).map(Issued::der).toList();
        }

        /** Polls {@code condition} until the deadline; fails with {@code what} if it is not met, or as soon as a client met an unexpected answer. */
        void await(BooleanSupplier condition, Instant deadline, String what) throws InterruptedException {
            while (!condition.getAsBoolean()) {
                assertEquals(List.of(), List.copyOf(unexpected), "every answer is a certificate or 503 with Retry-After");
                assertTrue(Instant.now().isBefore(deadline), what + ": not reached by the deadline");
                Thread.sleep(50);
            }
        }

        /** Lets every client finish the request it is in, then stops them. */
        void stop() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                t.join();
            }
        }
    }
}
