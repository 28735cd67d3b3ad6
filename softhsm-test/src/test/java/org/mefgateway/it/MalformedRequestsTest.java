package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.it.hsm.Pkcs11Sessions;

/**
 * Malformed and unusual requests on each of the three listeners (EST and admin over TLS, the
 * publication listener in plain HTTP), sent byte for byte: each gets exactly the status in the
 * table below, none a 5xx, and the gateway logs one line for each, never a stack trace (the test
 * reads the gateway's log as it is written: the in-process gateway logs to this JVM's stderr).
 * The gateway's own count of 5xx per listener ({@code mef_http_responses_total}) stays at 0.
 * Last, with the HSM out of service, OCSP is 503 + Retry-After (it was a 500 with a 40-line
 * stack trace) and that 503 and the readiness probe's are counted as the listeners' 5xx.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MalformedRequestsTest {
    /** A stack-trace line, or an exception's cause, as SLF4J's simple logger prints them. */
    static final Pattern STACK_TRACE = Pattern.compile("(?m)^(\\s+at \\S+\\(|Caused by: |\\s+\\.\\.\\. \\d+ more)");

    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    static PrintStream stderr;
    static DeviceMaker maker;
    static TestGateway mef;

    enum Listener { EST, ADMIN, PUBLICATION }

    /**
     * One case: the request as sent and the status each listener answers. The test reads each
     * answer until the server closes the connection: a request that does not say
     * {@code Connection: close} proves that the server closes it on its own after the refusal.
     */
    record Case(String name, String request, Map<Listener, Integer> status) {
        Case(String name, String request, int status) {
            this(name, request, Map.of(Listener.EST, status, Listener.ADMIN, status, Listener.PUBLICATION, status));
        }
    }

    /** A path each listener serves with GET: the request line of the well-formed variants. */
    static String path(Listener listener) {
        return switch (listener) {
            case EST -> "/.well-known/est/cacerts";
            case ADMIN -> "/health/live";
            case PUBLICATION -> "/crl/ca.crl";
        };
    }

    /** {@code PATH} in a case's request is the listener's path. */
    static final List<Case> CASES = List.of(
            // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host (was 500 on all three).
            new Case("HTTP/1.1 without Host", "GET PATH HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
            new Case("Host not a host name", "GET PATH HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n", 400),
            new Case("Host with an unclosed IPv6 literal", "GET PATH HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n", 400),
            new Case("HTTP/1.0 without Host (allowed)", "GET PATH HTTP/1.0\r\n\r\n", 200),
            // Was 501 with the status line in the client's version; 400, not 505, so that no client can make a 5xx.
            new Case("HTTP/9.9", "GET PATH HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", 400),
            new Case("HTTP/2 prior knowledge (PRI preface)", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
            new Case("HTTP/1.2", "GET PATH HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n", 400),
            new Case("http/1.1 in lower case", "GET PATH http/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
            new Case("no HTTP version", "GET PATH\r\n\r\n", 400),
            new Case("not HTTP", "\u0016\u0003\u0001\u0000\u0005hello\r\n\r\n", 400),
            // An h2c upgrade is ignored: the request is served in HTTP/1.1 (was 101 Switching Protocols on publication).
            new Case("Upgrade: h2c", "GET PATH HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nConnection: close\r\nUpgrade: h2c\r\n"
                    + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", 200),
            // CL+TE: the request hidden in the body is never answered (was answered on publication).
            new Case("Content-Length and Transfer-Encoding with a hidden request", "POST PATH HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/ocsp-request\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    + "GET PATH HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 411),
            new Case("Transfer-Encoding: chunked", "POST PATH HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    411),
            new Case("request line of 10 KB", "GET PATH?" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
            new Case("headers of 20 KB", "GET PATH HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n", 431),
            new Case("asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 404),
            new Case("GET /ocsp without the request", "GET /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                    Map.of(Listener.EST, 404, Listener.ADMIN, 404, Listener.PUBLICATION, 400)),
            new Case("GET /ocsp/ with a broken escape", "GET /ocsp/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 400),
            new Case("HEAD", "HEAD PATH HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 200));

    @BeforeAll
    static void start() throws Exception {
        stderr = System.err;
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                LOG.write(b);
                stderr.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                LOG.write(b, off, len);
                stderr.write(b, off, len);
            }
        }, true));
        maker = DeviceMaker.create("Malformed Maker CA");
        mef = TestGateway.start(maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
        System.setErr(stderr);
    }

    static int port(Listener listener) {
        return switch (listener) {
            case EST -> mef.gateway.estPort();
            case ADMIN -> mef.gateway.adminPort();
            case PUBLICATION -> mef.gateway.publicationPort();
        };
    }

    /** Sends {@code request} on a new connection and reads until the server closes it (30 s at most). */
    static String exchange(Listener listener, String request) throws Exception {
        try (Socket socket = listener == Listener.PUBLICATION ? plain(port(listener)) : RawHttps.connect(mef, port(listener), null, null, null).socket) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) != -1; ) {
                    answer.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the server neither closed nor finished within 30 s: " + answer, e);
            } catch (IOException reset) {
                // reset after its answer: what it sent before is the answer
            }
            return answer.toString(StandardCharsets.ISO_8859_1);
        }
    }

    static Socket plain(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        return s;
    }

    static String log() {
        return LOG.toString(StandardCharsets.UTF_8);
    }

    /** mef_http_responses_total of one listener and status class, from the admin listener's /metrics. */
    static double responses(String listener, String statusClass) throws Exception {
        String series = "mef_http_responses_total{listener=\"" + listener + "\",status_class=\"" + statusClass + "\"} ";
        String scrape = new AdminClient(mef.config).get("/metrics").body();
        return scrape.lines().filter(l -> l.startsWith(series)).mapToDouble(l -> Double.parseDouble(l.substring(series.length())))
                .findFirst().orElseThrow(() -> new AssertionError(series + "not in /metrics"));
    }

    @Test
    @Order(1)
    void everyMalformedRequestGetsItsStatusOnEveryListenerWithoutA5xxOrAStackTrace() throws Exception {
        int logStart = log().length();
        List<String> seen = new ArrayList<>();
        List<String> wrong = new ArrayList<>();
        for (Case c : CASES) {
            for (Listener listener : Listener.values()) {
                String answer;
                try {
                    answer = exchange(listener, c.request().replace("PATH", path(listener)));
                } catch (AssertionError e) {
                    throw new AssertionError(c.name() + " on " + listener + ": " + e.getMessage(), e);
                }
                List<Integer> statuses = RawHttps.statuses(answer);
                String line = String.format("%-55s %-11s %s", c.name(), listener, statuses);
                seen.add(line);
                int expected = c.status().get(listener);
                if (!statuses.equals(List.of(expected))) {
                    wrong.add(line + ", expected [" + expected + "]: " + answer.lines().findFirst().orElse("(nothing)"));
                }
                if (c.request().startsWith("HEAD") && !answer.endsWith("\r\n\r\n")) {
                    wrong.add(line + ": HEAD got a body");
                }
            }
        }
        System.out.println("malformed requests, status per listener:\n  " + String.join("\n  ", seen));
        assertEquals(List.of(), wrong, "every case has exactly its status");

        String logged = log().substring(logStart);
        assertTrue(!STACK_TRACE.matcher(logged).find() && !logged.contains(" ERROR "), "no stack trace, no ERROR:\n" + logged);
        for (Listener listener : Listener.values()) {
            assertEquals(0.0, responses(listener.name().toLowerCase(), "5xx"), listener + ": no 5xx counted");
        }
    }

    /**
     * The HSM out of service (every session of the process on the slot closed, re-login prevented
     * by withholding the PIN file, as in EnrolmentDuringHsmOutageTest): an OCSP request about a
     * certificate of ours whose answer needs a signature (none held: never asked before) is 503
     * with Retry-After and a text/plain reason, the readiness probe 503; each is counted once as
     * its listener's 5xx; no stack trace is logged for them.
     */
    @Test
    @Order(2)
    void ocspWhileTheHsmIsOutIs503WithRetryAfterAndEvery5xxIsCountedPerListener(@TempDir Path dir) throws Exception {
        X509Certificate issued = mef.enrolNew(maker, "malformed-ocsp", dir);
        var ca = new JcaX509CertificateHolder(mef.caCertificate);
        byte[] ocspRequest = new OCSPReqBuilder().addRequest(new CertificateID(
                new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1), ca, issued.getSerialNumber()))
                .build().getEncoded();
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
        HttpRequest ocsp = HttpRequest.newBuilder(mef.publicationBase().resolve("/ocsp")).header("Content-Type", "application/ocsp-request")
                .POST(HttpRequest.BodyPublishers.ofByteArray(ocspRequest)).build();
        double publication5xx = responses("publication", "5xx");
        double admin5xx = responses("admin", "5xx");

        long slot = Pkcs11Token.open(mef.config.hsm()).slot(); // not closed: that would log the process out
        Path pinFile = mef.hsm.pinFile;
        Path withheld = pinFile.resolveSibling("user.pin.withheld");
        Files.move(pinFile, withheld);
        int logStart = log().length();
        try {
            new Pkcs11Sessions(SoftHsm.LIBRARY, slot).closeAll();
            HttpResponse<String> refused = http.send(ocsp, HttpResponse.BodyHandlers.ofString());
            System.out.println("OCSP while the HSM is out: " + refused.statusCode() + " " + refused.headers().map() + " " + refused.body());
            assertEquals(503, refused.statusCode(), refused.body());
            assertEquals("10", refused.headers().firstValue("Retry-After").orElse(""));
            assertTrue(refused.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), refused.headers().toString());
            assertEquals(503, new AdminClient(mef.config).get("/health/ready").statusCode(), "ready reports the HSM down");

            assertEquals(publication5xx + 1, responses("publication", "5xx"), "the OCSP 503 is the publication listener's 5xx");
            assertEquals(admin5xx + 1, responses("admin", "5xx"), "the readiness 503 is the admin listener's 5xx");
            String logged = log().substring(logStart);
            assertTrue(!STACK_TRACE.matcher(logged).find(), "no stack trace for the 503s:\n" + logged);
        } finally {
            Files.move(withheld, pinFile);
        }
        // Back in service once the signer's re-initialisation logs in again (polling, with a deadline).
        int ready = 0;
        for (int i = 0; i < 120 && ready != 200; i++) {
            ready = new AdminClient(mef.config).get("/health/ready").statusCode();
            if (ready != 200) {
                Thread.sleep(500);
            }
        }
        assertEquals(200, ready, "ready again once the PIN is back");
        // The OCSP responder signs with its own key, whose signer recovers on its own retry timer,
        // which may come after the CA signer's (readiness): poll it too, with a deadline.
        int answered = 0;
        for (int i = 0; i < 120 && answered != 200; i++) {
            answered = http.send(ocsp, HttpResponse.BodyHandlers.ofByteArray()).statusCode();
            if (answered != 200) {
                Thread.sleep(500);
            }
        }
        assertEquals(200, answered, "OCSP answers again");
    }
}
