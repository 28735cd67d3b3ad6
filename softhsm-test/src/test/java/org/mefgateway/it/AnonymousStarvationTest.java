package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.mefgateway.policy.Oids;

/**
 * Issue 14, defect 1: clients that are not Enrolees must not be able to starve enrolment. The
 * attack of the issue — TLS connections without a client certificate, each sending a
 * {@code POST .../simpleenroll} header with {@code Content-Length: 5000} and 3 bytes of body and
 * keeping the connection open — once held every {@code est.maxInFlight} slot for the request
 * deadline. Here it runs with as many connections as there are slots (the default 64), and again
 * with a client certificate that is valid but not registered, while registered Enrolees enrol one
 * after another: each of them is served. The gateway keeps the defaults that matter to the attack
 * (maxInFlight 64, requestTimeoutSeconds 30); the per-client rate limit is off, as behind a NAT
 * where it would have to be, so that only the order of admission protects the Enrolees. A
 * registered client that trickles its bodies meets the per-source bound on bodies read at once
 * and the body deadline (set small here: 2 bodies, 3 s).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AnonymousStarvationTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C-STARVE";
    /** Attack connections of each kind: as many as est.maxInFlight's default. */
    static final int ATTACKERS = 64;
    static final int ENROLEES = 15;
    static final int BODY_READS = 2;
    static final int BODY_SECONDS = 3;
    /** The request: a header announcing 5000 bytes of body, and 3 of them. */
    static final String SLOW_BODY = "POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: application/pkcs10\r\nContent-Length: 5000\r\n\r\nMII";

    static DeviceMaker maker;
    static TestGateway mef;
    static int registered;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Starvation Maker CA");
        mef = TestGateway.startWithEst("rateLimit: {perClientPerSecond: 0}, bodyTimeoutSeconds: " + BODY_SECONDS
                + ", maxBodyReadsPerClient: " + BODY_READS, Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    private static DeviceMaker.Device registered() throws Exception {
        DeviceMaker.Device d = maker.device("starve-" + ++registered);
        mef.register(d, "ae-starve-" + registered, "AE-ID", AE_ID + registered, 40);
        return d;
    }

    private static String csr(HttpClient client, int n) throws Exception {
        return TestCsr.p256().challenge(mef.challenge(client, "")).uri(AE_ID + n).eku(Oids.SUID_EKU_ARC + ".40").base64();
    }

    @Test
    @Order(1)
    void registeredEnroleesAreEachServedWhileAnonymousAndUnregisteredClientsHoldSlowBodiesOnEveryConnectionTheyCan() throws Exception {
        List<HttpClient> enrolees = new ArrayList<>();
        for (int i = 0; i < ENROLEES; i++) {
            enrolees.add(mef.client(registered()));
        }
        int firstEnrolee = registered - ENROLEES + 1;
        int issuedBefore = mef.issued().size();
        double shedBefore = shed("capacity");
        List<Integer> statuses = new ArrayList<>();
        Attack anonymous = new Attack(null, "127.0.0.2");
        Attack unregistered = new Attack(maker.device("never-registered").keyStore(), "127.0.0.3");
        try {
            double receivedBefore = enrolmentRequestsReceived();
            anonymous.start();
            unregistered.start();
            awaitReceived(receivedBefore + 2 * ATTACKERS);

            for (int i = 0; i < ENROLEES; i++) {
                HttpClient client = enrolees.get(i);
                HttpResponse<String> r = TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10",
                        csr(client, firstEnrolee + i));
                statuses.add(r.statusCode());
            }
        } finally {
            anonymous.stop();
            unregistered.stop();
        }
        long served = statuses.stream().filter(s -> s == 200).count();
        System.out.println("registered enrolments served during " + ATTACKERS + " slow anonymous bodies and " + ATTACKERS
                + " from an unregistered certificate: " + served + "/" + ENROLEES + " (statuses " + statuses + "); the attack's "
                + "answers, by status: anonymous " + anonymous.answers() + ", unregistered " + unregistered.answers()
                + "; connections made: " + anonymous.connections.get() + " + " + unregistered.connections.get());

        assertEquals(Collections.nCopies(ENROLEES, 200), statuses, "every registered Enrolee is served");
        assertEquals(issuedBefore + ENROLEES, mef.issued().size(), "one certificate per Enrolee, none for the attack");
        assertEquals(shedBefore, shed("capacity"), "no enrolment was ever shed at capacity");
        // Refused before the body is read, and closed once the linger passes: 401 (with the scheme to authenticate by) or 403, nothing else.
        assertEquals(Set.of(401), anonymous.answers().keySet(), "every anonymous attack request: " + anonymous.answers());
        assertEquals(Set.of(403), unregistered.answers().keySet(), "every unregistered attack request: " + unregistered.answers());
        assertTrue(anonymous.failures.isEmpty() && unregistered.failures.isEmpty(), anonymous.failures + " " + unregistered.failures);
        assertTrue(anonymous.raw.peek().contains("\r\nWWW-Authenticate: TLS-Client-Certificate realm=\"MEF\"\r\n")
                && anonymous.raw.peek().contains("\r\nConnection: close\r\n"), anonymous.raw.peek());
        assertTrue(unregistered.raw.peek().contains("is not registered with the MEF")
                && unregistered.raw.peek().contains("\r\nConnection: close\r\n"), unregistered.raw.peek());
    }

    /**
     * A registered client whose bodies arrive a byte at a time: two of them are read at once (the
     * per-source bound, 2 here), a third still arriving from the same address is refused at once
     * with 429 and closed, and the two are answered 408 and closed when the body deadline (3 s)
     * passes although bytes keep arriving. Then the address's places are free again: its next
     * enrolment, sent whole, is served. {@code Expect: 100-continue} makes the start of the first
     * two body reads visible: the server asks for the body once it has authenticated the client,
     * and counts it against the address from its next pass on, long before the third arrives.
     */
    @Test
    @Order(2)
    void aRegisteredClientTricklingItsBodiesGetsTwoReadsAtOnceEachCutOffAtTheBodyDeadlineAndA429ForMore() throws Exception {
        DeviceMaker.Device device = registered();
        int n = registered;
        String address = "127.0.0.4";
        double shedBefore = shed("body_reads");
        String trickling = "POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                + "Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n";
        List<RawHttps> held = new ArrayList<>();
        List<Thread> tricklers = new ArrayList<>();
        try (RawHttps third = RawHttps.connect(mef, device.keyStore(), DeviceMaker.Device.PASSWORD, address)) {
            for (int i = 0; i < BODY_READS; i++) {
                RawHttps c = RawHttps.connect(mef, device.keyStore(), DeviceMaker.Device.PASSWORD, address);
                held.add(c);
                c.send(trickling);
                String asked = c.readWithin(10_000);
                assertEquals(List.of(100), RawHttps.statuses(asked), "the body is asked for, its read has a place: " + asked);
                tricklers.add(trickle(c));
            }

            String refused = third.send("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/pkcs10\r\nContent-Length: 1000\r\n\r\nMIIB").readAll();

            assertEquals(List.of(429), RawHttps.statuses(refused), refused);
            assertTrue(refused.contains("\r\nRetry-After: 1\r\n") && refused.contains("\r\nConnection: close\r\n"), refused);
            assertTrue(refused.endsWith("\r\n\r\ntoo many request bodies being sent from " + address + " at once: at most " + BODY_READS
                    + "; retry after 1 s\n"), refused);
            assertEquals(shedBefore + 1, shed("body_reads"), "counted in mef_est_requests_shed_total{reason=\"body_reads\"}");
            for (RawHttps c : held) {
                String cutOff = c.readAll();
                assertEquals(List.of(408), RawHttps.statuses(cutOff), cutOff);
                assertTrue(cutOff.contains("\r\nConnection: close\r\n"), cutOff);
                assertTrue(cutOff.endsWith("\r\n\r\nthe request body was not received within " + BODY_SECONDS + " s\n"), cutOff);
            }
        } finally {
            for (RawHttps c : held) {
                c.close();
            }
            for (Thread t : tricklers) {
                t.join();
            }
        }

        String body = csr(mef.client(device), n);
        try (RawHttps c = RawHttps.connect(mef, device.keyStore(), DeviceMaker.Device.PASSWORD, address)) {
            String answer = c.send("POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                    + "Connection: close\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).readAll();
            assertEquals(List.of(200), RawHttps.statuses(answer), "the address's places were given back: " + answer);
        }
        assertEquals(shedBefore + 1, shed("body_reads"));
    }

    /** Sends one body byte every 200 ms until the server closes the connection. */
    private static Thread trickle(RawHttps c) {
        Thread t = new Thread(() -> {
            try {
                for (int i = 0; i < 100; i++) {
                    c.send("A");
                    Thread.sleep(200);
                }
            } catch (IOException | InterruptedException closed) {
                // the server answered and closed the connection
            }
        }, "trickle");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * {@value #ATTACKERS} connections from one source address, each sending {@link #SLOW_BODY}
     * and keeping the connection open; when the server closes one, it is opened again 2 s later
     * (the attacker's pace: about 64 new connections a second for both attacks together, where
     * about 2 a second held every slot before; faster would only measure this 2-core machine's
     * TLS handshakes), until {@link #stop}.
     */
    static final class Attack {
        final KeyStore credential;
        final String address;
        final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> raw = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final AtomicInteger connections = new AtomicInteger();
        final Set<RawHttps> open = ConcurrentHashMap.newKeySet();
        final List<Thread> threads = new ArrayList<>();
        volatile boolean stopped;

        Attack(KeyStore credential, String address) {
            this.credential = credential;
            this.address = address;
        }

        void start() {
            for (int i = 0; i < ATTACKERS; i++) {
                Thread t = new Thread(this::attack, "attack-" + address + "-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        private void attack() {
            while (!stopped) {
                try (RawHttps c = RawHttps.connect(mef, credential, DeviceMaker.Device.PASSWORD, address)) {
                    open.add(c);
                    connections.incrementAndGet();
                    // Longer than the request deadline (30 s): the old admission answered only then.
                    c.socket.setSoTimeout(120_000);
                    // Until the server closes (2 s after its answer: a lingering close) or the test stops the attack.
                    String answer = c.send(SLOW_BODY).readAll();
                    if (!stopped || !answer.isEmpty()) {
                        List<Integer> seen = RawHttps.statuses(answer);
                        statuses.computeIfAbsent(seen.isEmpty() ? -1 : seen.get(0), s -> new AtomicInteger()).incrementAndGet();
                        if (raw.isEmpty()) {
                            raw.add(answer);
                        }
                    }
                    open.remove(c);
                } catch (Exception e) {
                    if (!stopped) {
                        failures.add(e.toString());
                    }
                }
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() throws Exception {
            stopped = true;
            for (RawHttps c : open) {
                c.close();
            }
            for (Thread t : threads) {
                t.interrupt();
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
        }

        /** The number of attack requests answered, by status (-1: closed without an answer). */
        Map<Integer, Integer> answers() {
            Map<Integer, Integer> out = new TreeMap<>();
            statuses.forEach((s, n) -> out.put(s, n.get()));
            return out;
        }
    }

    /**
     * Enrolment requests the server has received: those answered (mef_est_requests_total) and those
     * in progress (Vert.x's active requests; nothing else is in progress while the attack starts).
     */
    private static double enrolmentRequestsReceived() {
        double answered = mef.gateway.meters().find("mef.est.requests").tag("operation", "simpleenroll").counters().stream()
                .mapToDouble(Counter::count).sum();
        double active = mef.gateway.meters().find("vertx.http.server.active.requests").gauges().stream()
                .mapToDouble(Gauge::value).sum();
        return answered + active;
    }

    /** Polls until the server has received {@code count} enrolment requests (60 s at most): the attack is in place. */
    private static void awaitReceived(double count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (enrolmentRequestsReceived() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the attack's requests did not all reach the server within 60 s: "
                        + enrolmentRequestsReceived() + " of " + count);
            }
            Thread.sleep(20);
        }
    }

    /** mef_est_requests_shed_total for one reason, every stage (0 if nothing was ever shed for it). */
    private static double shed(String reason) {
        return mef.gateway.meters().find("mef.est.requests.shed").tag("reason", reason).counters().stream()
                .mapToDouble(Counter::count).sum();
    }
}
