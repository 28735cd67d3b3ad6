package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.json.JsonObject;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bytes the gateway writes, read off the socket with no HTTP library in between: RFC 7030 /
 * RFC 8951 and the field interop promises of issue 13 that a client library would hide. On every
 * listener (EST and admin over TLS, publication over plain HTTP) and for every kind of answer
 * (200, 202, 4xx from our handlers, from routing, from the connection guard, from Vert.x itself)
 * each header name is sent in its canonical capitalisation, because deployed EST clients (libest)
 * compare {@code Content-Length} and {@code Content-Type} byte for byte; the set of names is
 * exactly the expected one. Base64 bodies are one unbroken line; the serverkeygen multipart has a
 * quoted boundary and RFC 2046 framing; a 405 names exactly the routed methods in {@code Allow};
 * HEAD answers wherever GET does, with the GET's status, headers and Content-Length and no body;
 * a 401 carries {@code WWW-Authenticate}; a 202 carries {@code Retry-After} and
 * {@code Content-Length: 0}.
 *
 * <p>Each response is framed by its own Content-Length; what follows it on the connection is
 * checked too: a pipelined sentinel request's answer must come next and nothing else (so a HEAD
 * that leaked a body, or a body longer than its Content-Length, fails), and an answer with
 * {@code Connection: close} must be followed by the close. This is the guard that a Vert.x or
 * Netty upgrade cannot silently bring lower-case names or a missing Content-Length back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WireFormatTest {
    static final String EST = "/.well-known/est";
    static final char[] PASSWORD = "operational".toCharArray();
    static final String TEXT_PLAIN = "text/plain; charset=utf-8";
    static final String CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only";
    static final String SERVERKEYGEN_TYPE = "multipart/mixed; boundary=\"est-mef-boundary\"";
    /** One line of base64: the alphabet, padding only at the end, a whole number of quanta. */
    static final Pattern ONE_LINE_BASE64 = Pattern.compile("(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?");
    static final Pattern IMF_FIXDATE = Pattern.compile(
            "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
    /** Answered 404 on every listener; sent after each case to see what follows the case's answer. */
    static final String SENTINEL = "GET /wire-sentinel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

    /** The canonical spelling of every header name the gateway may send (lower case to canonical). */
    static final Map<String, String> CANONICAL = Stream.of("Content-Type", "Content-Length", "Content-Transfer-Encoding",
            "Retry-After", "Connection", "WWW-Authenticate", "Allow", "Last-Modified", "Date", "Transfer-Encoding")
            .collect(java.util.stream.Collectors.toMap(n -> n.toLowerCase(Locale.ROOT), n -> n));

    static DeviceMaker maker;
    static TestGateway mef;
    /** Registered, never enrols: its CERT_PROV command stays pending (for /mef/command). */
    static DeviceMaker.Device registered;
    /** From the trusted maker, never registered: 403. */
    static DeviceMaker.Device unregistered;
    /** Header block of one answer per kind, printed at the end for the README. */
    static final Map<String, String> OBSERVED = new TreeMap<>();
    static int n;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Wire Format CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE,
                "held.yaml", "validity: {days: 7}\napproval: {required: true, retryAfterSeconds: 30}\n"), maker);
        registered = maker.device("wire-registered");
        mef.register(registered, "wire-registered", "AE-ID", "//m2m.example.com/CSE3219/C-WIRE-REG", 40);
        unregistered = maker.device("wire-unregistered");
        awaitCrl();
    }

    @AfterAll
    static void stop() {
        OBSERVED.forEach((kind, head) -> System.out.println("=== " + kind + "\n" + head.replace("\r\n", "\\r\\n\n")));
        if (mef != null) {
            mef.close();
        }
    }

    // --- who connects where ---------------------------------------------------------------------

    enum Peer {
        EST_ANONYMOUS, EST_DEVICE, EST_UNREGISTERED, ADMIN_ANONYMOUS, ADMIN_OPERATOR, PUBLICATION;

        Conn open() throws Exception {
            return new Conn(switch (this) {
                case EST_ANONYMOUS -> RawHttps.connect(mef, (DeviceMaker.Device) null).socket;
                case EST_DEVICE -> RawHttps.connect(mef, registered).socket;
                case EST_UNREGISTERED -> RawHttps.connect(mef, unregistered).socket;
                case ADMIN_ANONYMOUS -> RawHttps.connect(mef, mef.gateway.adminPort(), null, null, null).socket;
                case ADMIN_OPERATOR -> RawHttps.operator(mef).socket;
                case PUBLICATION -> new Socket("127.0.0.1", mef.gateway.publicationPort());
            });
        }
    }

    // --- the stateless table --------------------------------------------------------------------

    /** One request on a fresh connection and what its answer must be on the wire. */
    record Case(String name, Peer peer, byte[] request, String statusLine, List<String> names, Map<String, String> values,
                Consumer<Response> body) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() throws Exception {
        byte[] ocspRequest = new OCSPReqBuilder().addRequest(new CertificateID(new JcaDigestCalculatorProviderBuilder().build()
                .get(CertificateID.HASH_SHA1), new JcaX509CertificateHolder(mef.caCertificate), BigInteger.valueOf(4242))).build().getEncoded();
        List<String> error = List.of("Content-Type", "Content-Length");
        List<String> closing = List.of("Connection", "Content-Type", "Content-Length");
        Map<String, String> plain = Map.of("Content-Type", TEXT_PLAIN);
        return Stream.of(
                // EST
                new Case("EST cacerts 200", Peer.EST_ANONYMOUS, request("GET", EST + "/cacerts", null),
                        "HTTP/1.1 200 OK", List.of("Content-Type", "Content-Transfer-Encoding", "Content-Length"),
                        Map.of("Content-Type", CERTS_ONLY, "Content-Transfer-Encoding", "base64"),
                        r -> assertEquals(List.of(mef.caCertificate), certsOnly(oneLineBase64(r.body())))),
                new Case("EST 401 anonymous csrattrs", Peer.EST_ANONYMOUS, request("GET", EST + "/csrattrs", null),
                        "HTTP/1.1 401 Unauthorized", List.of("WWW-Authenticate", "Content-Type", "Content-Length"),
                        Map.of("Content-Type", TEXT_PLAIN, "WWW-Authenticate", "TLS-Client-Certificate realm=\"MEF\""),
                        reason("a TLS client certificate is required")),
                new Case("EST 403 unregistered csrattrs", Peer.EST_UNREGISTERED, request("GET", EST + "/csrattrs", null),
                        "HTTP/1.1 403 Forbidden", error, plain, reason("this client certificate")),
                new Case("EST 404 unknown label", Peer.EST_ANONYMOUS, request("GET", EST + "/nolabel/cacerts", null),
                        "HTTP/1.1 404 Not Found", error, plain, reason("")),
                new Case("EST 404 unrouted path", Peer.EST_ANONYMOUS, request("GET", EST + "/fullcmc", null),
                        "HTTP/1.1 404 Not Found", error, plain, reason("no such resource: /.well-known/est/fullcmc")),
                new Case("EST 405 DELETE cacerts", Peer.EST_ANONYMOUS, request("DELETE", EST + "/cacerts", null),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "GET, HEAD", "Content-Type", TEXT_PLAIN), reason("only GET, HEAD are allowed")),
                new Case("EST 405 GET simpleenroll", Peer.EST_DEVICE, request("GET", EST + "/simpleenroll", null),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "POST", "Content-Type", TEXT_PLAIN), reason("only POST is allowed")),
                new Case("EST 405 GET labelled serverkeygen", Peer.EST_DEVICE, request("GET", EST + "/held/serverkeygen", null),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "POST", "Content-Type", TEXT_PLAIN), reason("only POST is allowed")),
                new Case("EST 405 POST mef command", Peer.EST_DEVICE, request("POST", "/mef/command", new byte[0]),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "GET, HEAD", "Content-Type", TEXT_PLAIN), reason("only GET, HEAD are allowed")),
                new Case("EST 415 text/plain simpleenroll", Peer.EST_DEVICE,
                        request("POST", EST + "/simpleenroll", "AAAA".getBytes(StandardCharsets.US_ASCII), "Content-Type: text/plain"),
                        "HTTP/1.1 415 Unsupported Media Type", error, plain, reason("Content-Type must be application/pkcs10")),
                new Case("EST 413 body over the limit", Peer.EST_DEVICE,
                        ("POST " + EST + "/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                                + "Content-Length: 10000000\r\n\r\nMIIB").getBytes(StandardCharsets.US_ASCII),
                        "HTTP/1.1 413 Request Entity Too Large", closing, Map.of("Connection", "close", "Content-Type", TEXT_PLAIN),
                        reason("the request body is too large")),
                new Case("EST 411 chunked upload", Peer.EST_DEVICE,
                        ("POST " + EST + "/simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                                + "Transfer-Encoding: chunked\r\n\r\n4\r\nAAAA\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
                        "HTTP/1.1 411 Length Required", closing, Map.of("Connection", "close", "Content-Type", TEXT_PLAIN),
                        reason("send the body with a Content-Length")),
                new Case("EST 400 header line without colon", Peer.EST_ANONYMOUS,
                        ("GET " + EST + "/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\nthis line has no colon\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII),
                        "HTTP/1.1 400 Bad Request", closing, Map.of("Connection", "close", "Content-Type", TEXT_PLAIN),
                        reason("malformed HTTP request")),
                new Case("EST 431 header over the limit", Peer.EST_ANONYMOUS,
                        request("GET", EST + "/cacerts", null, "X-Big: " + "a".repeat(20_000)),
                        "HTTP/1.1 431 Request Header Fields Too Large", closing, Map.of("Connection", "close", "Content-Type", TEXT_PLAIN),
                        reason("the request headers are too large")),
                new Case("EST cacerts 200 to HTTP/1.0 keep-alive", Peer.EST_ANONYMOUS,
                        ("GET " + EST + "/cacerts HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").getBytes(StandardCharsets.US_ASCII),
                        "HTTP/1.0 200 OK", List.of("Content-Type", "Content-Transfer-Encoding", "Connection", "Content-Length"),
                        Map.of("Content-Type", CERTS_ONLY, "Content-Transfer-Encoding", "base64", "Connection", "keep-alive"),
                        r -> assertEquals(List.of(mef.caCertificate), certsOnly(oneLineBase64(r.body())))),
                new Case("EST mef command 200", Peer.EST_DEVICE, request("GET", "/mef/command", null),
                        "HTTP/1.1 200 OK", error, Map.of("Content-Type", "application/json"),
                        r -> assertEquals("CERT_PROV", json(r).getString("command"))),
                // admin
                new Case("admin health/live 200", Peer.ADMIN_ANONYMOUS, request("GET", "/health/live", null),
                        "HTTP/1.1 200 OK", error, Map.of("Content-Type", "application/json"),
                        r -> assertEquals("UP", json(r).getString("status"))),
                new Case("admin policy 200 JSON", Peer.ADMIN_OPERATOR, request("GET", "/admin/policy", null),
                        "HTTP/1.1 200 OK", error, Map.of("Content-Type", "application/json"),
                        r -> assertEquals(List.of("default", "held"), json(r).getJsonArray("profiles").getList().stream().sorted().toList())),
                new Case("admin metrics 200", Peer.ADMIN_ANONYMOUS, request("GET", "/metrics", null),
                        "HTTP/1.1 200 OK", error, Map.of("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                        r -> assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("# TYPE "))),
                new Case("admin 401 anonymous", Peer.ADMIN_ANONYMOUS, request("GET", "/admin/policy", null),
                        "HTTP/1.1 401 Unauthorized", List.of("WWW-Authenticate", "Content-Type", "Content-Length"),
                        Map.of("Content-Type", TEXT_PLAIN, "WWW-Authenticate", "TLS-Client-Certificate realm=\"MEF\""),
                        reason("the admin API needs an operator's TLS client certificate")),
                new Case("admin 404", Peer.ADMIN_OPERATOR, request("GET", "/nowhere", null),
                        "HTTP/1.1 404 Not Found", error, plain, reason("no such resource: /nowhere")),
                new Case("admin 405 DELETE health/live", Peer.ADMIN_ANONYMOUS, request("DELETE", "/health/live", null),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "GET, HEAD", "Content-Type", TEXT_PLAIN), reason("only GET, HEAD are allowed")),
                new Case("admin 405 PUT enrolees", Peer.ADMIN_OPERATOR, request("PUT", "/admin/enrolees", new byte[0]),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "GET, HEAD, POST", "Content-Type", TEXT_PLAIN), reason("only GET, HEAD, POST are allowed")),
                new Case("admin 405 GET enrolee", Peer.ADMIN_OPERATOR, request("GET", "/admin/enrolees/wire-registered", null),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "DELETE", "Content-Type", TEXT_PLAIN), reason("only DELETE is allowed")),
                new Case("admin 400 header line without colon", Peer.ADMIN_ANONYMOUS,
                        "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nthis line has no colon\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                        "HTTP/1.1 400 Bad Request", closing, Map.of("Connection", "close", "Content-Type", TEXT_PLAIN),
                        reason("malformed HTTP request")),
                // publication (plain HTTP)
                new Case("publication CRL 200", Peer.PUBLICATION, request("GET", "/crl/ca.crl", null),
                        "HTTP/1.1 200 OK", List.of("Content-Type", "Last-Modified", "Content-Length"),
                        Map.of("Content-Type", "application/pkix-crl"), WireFormatTest::crl),
                // A serial this CA never issued: OCSP's unsigned "unauthorized" (RFC 5019 2.2.3), no caching headers.
                new Case("publication OCSP POST 200", Peer.PUBLICATION,
                        request("POST", "/ocsp", ocspRequest, "Content-Type: application/ocsp-request"),
                        "HTTP/1.1 200 OK", error, Map.of("Content-Type", "application/ocsp-response"),
                        r -> assertEquals(OCSPResp.UNAUTHORIZED, ocsp(r.body()).getStatus())),
                new Case("publication 404", Peer.PUBLICATION, request("GET", "/nowhere", null),
                        "HTTP/1.1 404 Not Found", error, plain, reason("no such resource: /nowhere")),
                new Case("publication 405 POST CRL", Peer.PUBLICATION, request("POST", "/crl/ca.crl", new byte[0]),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "GET, HEAD", "Content-Type", TEXT_PLAIN), reason("only GET, HEAD are allowed")),
                // GET and HEAD are routed on /ocsp as on /ocsp/... (and answer 400 without a request in the path).
                new Case("publication 405 PUT OCSP", Peer.PUBLICATION, request("PUT", "/ocsp", new byte[0]),
                        "HTTP/1.1 405 Method Not Allowed", List.of("Allow", "Content-Type", "Content-Length"),
                        Map.of("Allow", "GET, HEAD, POST", "Content-Type", TEXT_PLAIN), reason("method not allowed on /ocsp: only GET, HEAD, POST are allowed")),
                new Case("publication 415 OCSP", Peer.PUBLICATION,
                        request("POST", "/ocsp", ocspRequest, "Content-Type: text/plain"),
                        "HTTP/1.1 415 Unsupported Media Type", error, plain, reason("an OCSP request is sent as Content-Type")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyAnswerHasExactlyItsHeaderNamesInCanonicalCase(Case c) throws Exception {
        try (Conn conn = c.peer().open()) {
            Response r = conn.exchange(c.request(), false);
            observe(c.name(), r);
            assertWire(r, c.statusLine(), c.names(), c.values());
            c.body().accept(r);
            assertNothingFollows(conn, r);
        }
    }

    // --- HEAD -----------------------------------------------------------------------------------

    record Head(String name, Peer peer, String path) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Head> heads() {
        return Stream.of(
                new Head("EST cacerts", Peer.EST_ANONYMOUS, EST + "/cacerts"),
                new Head("EST mef command", Peer.EST_DEVICE, "/mef/command"),
                new Head("EST simpleenroll (405)", Peer.EST_DEVICE, EST + "/simpleenroll"),
                new Head("EST unknown label (404)", Peer.EST_ANONYMOUS, EST + "/nolabel/cacerts"),
                new Head("admin health/live", Peer.ADMIN_ANONYMOUS, "/health/live"),
                new Head("admin policy", Peer.ADMIN_OPERATOR, "/admin/policy"),
                new Head("publication CRL", Peer.PUBLICATION, "/crl/ca.crl"));
    }

    /**
     * RFC 9110 9.3.2: HEAD gets the status and headers of the GET, Content-Length included (what a
     * client checks a download against), and not one byte after the header block.
     */
    @ParameterizedTest(name = "HEAD {0}")
    @MethodSource("heads")
    void headAnswersWithTheHeadersOfTheGetAndNoBody(Head h) throws Exception {
        Response get;
        try (Conn conn = h.peer().open()) {
            get = conn.exchange(request("GET", h.path(), null), false);
        }
        try (Conn conn = h.peer().open()) {
            Response head = conn.exchange(request("HEAD", h.path(), null), true);
            observe("HEAD " + h.name(), head);
            assertWire(head, get.statusLine(), get.names(), Map.of());
            for (String name : get.names().stream().filter(n -> !n.equals("Date")).toList()) {
                assertEquals(get.value(name), head.value(name), name + " of HEAD and GET\n" + head.head() + "\n" + get.head());
            }
            assertEquals(String.valueOf(get.body().length), head.value("Content-Length"), "HEAD's Content-Length is the GET's body length");
            assertNothingFollows(conn, head);
        }
    }

    @Test
    void headOnMetricsHasAContentLengthAndNoBody() throws Exception {
        try (Conn conn = Peer.ADMIN_ANONYMOUS.open()) {
            Response head = conn.exchange(request("HEAD", "/metrics", null), true);
            observe("HEAD admin metrics", head);
            assertWire(head, "HTTP/1.1 200 OK", List.of("Content-Type", "Content-Length"),
                    Map.of("Content-Type", "text/plain; version=0.0.4; charset=utf-8"));
            // The scrape changes between two requests: only its presence is comparable.
            assertTrue(Integer.parseInt(head.value("Content-Length")) > 1000, head.head());
            assertNothingFollows(conn, head);
        }
    }

    /**
     * The publication listener has the same connection guard as EST and admin: what Netty cannot
     * parse gets the guard's one-line text/plain 400 with canonical names, and the connection is closed.
     */
    @Test
    void aMalformedHeaderOnThePublicationListenerGetsTheGuardsCanonical400() throws Exception {
        try (Conn conn = Peer.PUBLICATION.open()) {
            Response r = conn.exchange("GET /crl/ca.crl HTTP/1.1\r\nHost: 127.0.0.1\r\nthis line has no colon\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII), false);
            observe("publication 400 (connection guard)", r);
            assertWire(r, "HTTP/1.1 400 Bad Request", List.of("Connection", "Content-Type", "Content-Length"),
                    Map.of("Connection", "close", "Content-Type", TEXT_PLAIN));
            reason("malformed HTTP request").accept(r);
            assertEquals("", new String(conn.rest(), StandardCharsets.ISO_8859_1), "closed after the 400");
        }
    }

    /**
     * GET /ocsp without a request in the path is bad input: a 4xx text/plain like every other
     * refusal (Vert.x routes it to the OCSP GET handler, whose "/ocsp/*" also matches "/ocsp").
     */
    @Test
    void getOcspWithoutARequestIsRefusedAsBadInputNotAnInternalError() throws Exception {
        try (Conn conn = Peer.PUBLICATION.open()) {
            Response r = conn.exchange(request("GET", "/ocsp", null), false);
            observe("publication GET /ocsp", r);
            assertEquals("HTTP/1.1 400 Bad Request", r.statusLine(), r.text());
            assertEquals(TEXT_PLAIN, r.value("Content-Type"), r.text());
            assertTrue(r.names().stream().allMatch(name -> name.equals(CANONICAL.get(name.toLowerCase(Locale.ROOT)))), r.head());
        }
    }

    /**
     * RFC 9110 5.6.7: a sender generates Last-Modified as an IMF-fixdate, whose day has two digits
     * ("Fri, 04 Dec 2026 04:27:30 GMT"). Made deterministic: the gateway's clock is moved to the
     * next 1st-9th of a month and a revocation re-signs the CRL then. Last, as it moves the clock.
     */
    @Test
    @Order(Integer.MAX_VALUE)
    void lastModifiedOfTheCrlIsAnImfFixdateEvenOnTheFirstNineDaysOfAMonth() throws Exception {
        DeviceMaker.Device device = registeredDevice();
        KeyPair keys = DeviceMaker.ecKeys();
        Response enrolled = onEst(device.keyStore(), DeviceMaker.Device.PASSWORD, request("POST", EST + "/simpleenroll",
                csr(keys, aeIdOf(device), challenge(device, "")), "Content-Type: application/pkcs10"));
        X509Certificate cert = single(certsOnly(oneLineBase64(enrolled.body())));
        while (mef.clock.instant().atZone(java.time.ZoneOffset.UTC).getDayOfMonth() > 9) {
            mef.clock.advance(Duration.ofDays(1));
        }
        var revoked = new org.mefgateway.gateway.admin.AdminClient(mef.config)
                .postJson("/admin/certificates/" + cert.getSerialNumber().toString(16) + "/revoke", "{}");
        assertEquals(200, revoked.statusCode(), revoked.body());
        assertTrue(new JsonObject(revoked.body()).containsKey("crlNumber"), "the CRL was re-signed: " + revoked.body());

        try (Conn conn = Peer.PUBLICATION.open()) {
            Response r = conn.exchange(request("GET", "/crl/ca.crl", null), false);
            observe("publication CRL 200 on a day 1-9", r);
            X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new java.io.ByteArrayInputStream(r.body()));
            assertTrue(crl.getThisUpdate().toInstant().atZone(java.time.ZoneOffset.UTC).getDayOfMonth() <= 9, crl.getThisUpdate().toString());
            String expected = java.time.format.DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US)
                    .format(crl.getThisUpdate().toInstant().atZone(java.time.ZoneOffset.UTC));
            assertEquals(expected, r.value("Last-Modified"), "the CRL's thisUpdate as an IMF-fixdate");
            assertTrue(IMF_FIXDATE.matcher(r.value("Last-Modified")).matches(), r.value("Last-Modified"));
        }
    }

    // --- enrolment: the base64 bodies -----------------------------------------------------------

    @Test
    void csrattrsSimpleenrollAndSimplereenrollAnswerOneLineOfBase64WithCanonicalNames() throws Exception {
        DeviceMaker.Device device = registeredDevice();
        String aeId = aeIdOf(device);
        List<String> base64Names = List.of("Content-Type", "Content-Transfer-Encoding", "Content-Length");

        Response attrs = onEst(device.keyStore(), DeviceMaker.Device.PASSWORD, request("GET", EST + "/csrattrs", null));
        observe("EST csrattrs 200", attrs);
        assertWire(attrs, "HTTP/1.1 200 OK", base64Names,
                Map.of("Content-Type", "application/csrattrs", "Content-Transfer-Encoding", "base64"));
        String challenge = TestCsr.challengeFrom(new String(oneLineBase64Text(attrs.body()), StandardCharsets.US_ASCII));

        KeyPair keys = DeviceMaker.ecKeys();
        Response enrolled = onEst(device.keyStore(), DeviceMaker.Device.PASSWORD, request("POST", EST + "/simpleenroll",
                csr(keys, aeId, challenge), "Content-Type: application/pkcs10"));
        observe("EST simpleenroll 200", enrolled);
        assertWire(enrolled, "HTTP/1.1 200 OK", base64Names, Map.of("Content-Type", CERTS_ONLY, "Content-Transfer-Encoding", "base64"));
        X509Certificate cert = single(certsOnly(oneLineBase64(enrolled.body())));
        assertEquals(keys.getPublic(), cert.getPublicKey());
        cert.verify(mef.caCertificate.getPublicKey());

        // RFC 7030 4.2.2 with the certificate just issued.
        KeyStore operational = KeyStore.getInstance("PKCS12");
        operational.load(null, null);
        operational.setKeyEntry("current", keys.getPrivate(), PASSWORD, new Certificate[] {cert});
        Response attrs2 = onEst(operational, PASSWORD, request("GET", EST + "/csrattrs", null));
        assertWire(attrs2, "HTTP/1.1 200 OK", base64Names,
                Map.of("Content-Type", "application/csrattrs", "Content-Transfer-Encoding", "base64"));
        KeyPair next = DeviceMaker.ecKeys();
        Response renewed = onEst(operational, PASSWORD, request("POST", EST + "/simplereenroll",
                csr(next, aeId, TestCsr.challengeFrom(new String(oneLineBase64Text(attrs2.body()), StandardCharsets.US_ASCII))),
                "Content-Type: application/pkcs10"));
        observe("EST simplereenroll 200", renewed);
        assertWire(renewed, "HTTP/1.1 200 OK", base64Names, Map.of("Content-Type", CERTS_ONLY, "Content-Transfer-Encoding", "base64"));
        X509Certificate second = single(certsOnly(oneLineBase64(renewed.body())));
        assertEquals(next.getPublic(), second.getPublicKey());
        assertEquals(cert.getSubjectX500Principal(), second.getSubjectX500Principal());
    }

    /**
     * RFC 7030 4.4.2 with RFC 2046 5.1.1 framing: the boundary (quoted in Content-Type) opens the
     * body, each delimiter is CRLF "--" boundary, the CRLF before a delimiter belongs to it (so
     * each part's content is exactly one line of base64), and the close delimiter ends it.
     */
    @Test
    void serverkeygenIsAMultipartWithAQuotedBoundaryAndOneLineOfBase64PerPart() throws Exception {
        DeviceMaker.Device device = registeredDevice();
        String aeId = aeIdOf(device);
        String challenge = challenge(device, "");

        Response r = onEst(device.keyStore(), DeviceMaker.Device.PASSWORD, request("POST", EST + "/serverkeygen",
                csr(DeviceMaker.ecKeys(), aeId, challenge), "Content-Type: application/pkcs10"));

        observe("EST serverkeygen 200", r);
        assertWire(r, "HTTP/1.1 200 OK", List.of("Content-Type", "Content-Length"), Map.of("Content-Type", SERVERKEYGEN_TYPE));
        String body = new String(r.body(), StandardCharsets.ISO_8859_1);
        String delimiter = "--est-mef-boundary";
        assertTrue(body.startsWith(delimiter + "\r\n"), "no preamble, the first delimiter opens the body:\n" + body);
        int close = body.indexOf("\r\n" + delimiter + "--");
        assertTrue(close > 0, "a close delimiter:\n" + body);
        assertTrue(Set.of("", "\r\n").contains(body.substring(close + 2 + delimiter.length() + 2)), "nothing but CRLF after it:\n" + body);
        String[] parts = body.substring(delimiter.length() + 2, close).split(Pattern.quote("\r\n" + delimiter + "\r\n"), -1);
        assertEquals(2, parts.length, body);
        List<byte[]> contents = new ArrayList<>();
        List<String> types = new ArrayList<>();
        for (String part : parts) {
            int blank = part.indexOf("\r\n\r\n");
            assertTrue(blank > 0, "part headers, an empty line, the content:\n" + part);
            List<String> lines = List.of(part.substring(0, blank).split("\r\n"));
            assertEquals(List.of("Content-Type", "Content-Transfer-Encoding"), lines.stream().map(l -> l.substring(0, l.indexOf(':'))).toList(),
                    part);
            assertEquals("Content-Transfer-Encoding: base64", lines.get(1));
            types.add(lines.get(0));
            contents.add(oneLineBase64(part.substring(blank + 4).getBytes(StandardCharsets.ISO_8859_1)));
        }
        assertEquals(List.of("Content-Type: application/pkcs8", "Content-Type: " + CERTS_ONLY), types);
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(contents.get(0)));
        X509Certificate cert = single(certsOnly(contents.get(1)));
        cert.verify(mef.caCertificate.getPublicKey());
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(key);
        s.update(new byte[] {1, 2, 3});
        byte[] signature = s.sign();
        s.initVerify(cert.getPublicKey());
        s.update(new byte[] {1, 2, 3});
        assertTrue(s.verify(signature), "the key in the first part is the one certified in the second");
    }

    /** RFC 7030 4.2.3: 202, Retry-After, Content-Length: 0 and not one byte of body. */
    @Test
    void aHeldRequestIs202WithRetryAfterAndContentLengthZero() throws Exception {
        DeviceMaker.Device device = registeredDevice();
        String aeId = aeIdOf(device);
        byte[] csr = csr(DeviceMaker.ecKeys(), aeId, challenge(device, "/held"));

        Response r = onEst(device.keyStore(), DeviceMaker.Device.PASSWORD,
                request("POST", EST + "/held/simpleenroll", csr, "Content-Type: application/pkcs10"));

        observe("EST 202 held", r);
        assertWire(r, "HTTP/1.1 202 Accepted", List.of("Retry-After", "Content-Length"), Map.of("Retry-After", "30", "Content-Length", "0"));
        assertEquals(0, r.body().length);
    }

    // --- helpers --------------------------------------------------------------------------------

    /** One request on a fresh EST connection with {@code credential}; what follows the answer is checked too. */
    static Response onEst(KeyStore credential, char[] password, byte[] request) throws Exception {
        try (Conn conn = new Conn(RawHttps.connect(mef, credential, password, null).socket)) {
            Response r = conn.exchange(request, false);
            assertNothingFollows(conn, r);
            return r;
        }
    }

    static DeviceMaker.Device registeredDevice() throws Exception {
        String id = "wire-" + ++n;
        DeviceMaker.Device device = maker.device(id);
        mef.register(device, id, "AE-ID", aeIdOf(device), 40);
        return device;
    }

    static String aeIdOf(DeviceMaker.Device device) {
        return "//m2m.example.com/CSE3219/C-" + device.name().toUpperCase(Locale.ROOT);
    }

    static String challenge(DeviceMaker.Device device, String label) throws Exception {
        Response attrs = onEst(device.keyStore(), DeviceMaker.Device.PASSWORD, request("GET", EST + label + "/csrattrs", null));
        assertEquals("HTTP/1.1 200 OK", attrs.statusLine(), attrs.text());
        return TestCsr.challengeFrom(new String(oneLineBase64Text(attrs.body()), StandardCharsets.US_ASCII));
    }

    /** The CSR as a sloppy client sends it (MIME base64, CRLF every 76 characters). */
    static byte[] csr(KeyPair keys, String aeId, String challenge) throws Exception {
        return TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(challenge).base64()
                .getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] request(String method, String path, byte[] body, String... headers) {
        StringBuilder s = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (String h : headers) {
            s.append(h).append("\r\n");
        }
        if (body != null) {
            s.append("Content-Length: ").append(body.length).append("\r\n");
        }
        byte[] head = s.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(head, head.length + (body == null ? 0 : body.length));
        if (body != null) {
            System.arraycopy(body, 0, all, head.length, body.length);
        }
        return all;
    }

    /**
     * The status line; every header name canonical (byte for byte), never a line starting with a
     * lower-case letter; exactly {@code names} and a Date (RFC 9110 6.6.1, an IMF-fixdate), each
     * once, order free; {@code values} exact; and a Content-Length, equal to the body read (unless HEAD).
     */
    static void assertWire(Response r, String statusLine, List<String> names, Map<String, String> values) {
        String raw = r.head();
        List<String> expected = new java.util.ArrayList<>(names);
        if (!expected.contains("Date")) {
            expected.add("Date");
        }
        assertTrue(IMF_FIXDATE.matcher(String.valueOf(r.value("Date"))).matches(), "Date as an IMF-fixdate:\n" + raw);
        assertEquals(statusLine, r.statusLine(), raw);
        for (String name : r.names()) {
            assertEquals(CANONICAL.getOrDefault(name.toLowerCase(Locale.ROOT), "(unexpected header) " + name), name,
                    "header name not canonical or unexpected:\n" + raw);
        }
        assertTrue(r.headerLines().stream().noneMatch(l -> Character.isLowerCase(l.charAt(0))), "a lower-case header line:\n" + raw);
        assertEquals(expected.stream().sorted().toList(), r.names().stream().sorted().toList(), "the header names:\n" + raw);
        assertTrue(raw.contains("\r\nContent-Length: "), raw);
        values.forEach((name, value) -> assertEquals(value, r.value(name), name + ":\n" + raw));
        if (!r.toHead()) {
            assertEquals(String.valueOf(r.body().length), r.value("Content-Length"), raw);
        }
    }

    /**
     * After an answer with Connection: close the server closes without another byte; otherwise
     * a pipelined sentinel's 404 is the very next thing on the connection, and the last.
     */
    static void assertNothingFollows(Conn conn, Response r) throws IOException {
        if ("close".equals(r.value("Connection"))) {
            assertEquals("", new String(conn.rest(), StandardCharsets.ISO_8859_1), "after the answer with Connection: close");
            return;
        }
        conn.send(SENTINEL.getBytes(StandardCharsets.US_ASCII));
        Response sentinel = conn.read(false);
        assertWire(sentinel, "HTTP/1.1 404 Not Found", List.of("Connection", "Content-Type", "Content-Length"),
                Map.of("Connection", "close", "Content-Type", TEXT_PLAIN));
        assertEquals("", new String(conn.rest(), StandardCharsets.ISO_8859_1), "after the sentinel's answer");
    }

    static Consumer<Response> reason(String start) {
        return r -> {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            assertTrue(text.endsWith("\n") && text.indexOf('\n') == text.length() - 1, "one line:\n" + text);
            assertTrue(text.contains(start), text);
        };
    }

    static JsonObject json(Response r) {
        return new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
    }

    static void crl(Response r) {
        try {
            X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new java.io.ByteArrayInputStream(r.body()));
            crl.verify(mef.caCertificate.getPublicKey());
            assertTrue(r.value("Last-Modified").endsWith(" GMT"), r.head());
        } catch (Exception e) {
            throw new AssertionError("the body is not a CRL signed by the CA", e);
        }
    }

    static OCSPResp ocsp(byte[] der) {
        try {
            return new OCSPResp(der);
        } catch (IOException e) {
            throw new AssertionError("the body is not an OCSP response", e);
        }
    }

    /** The body is one unbroken line of base64 (no CR, LF, space or tab anywhere); returns its bytes. */
    static byte[] oneLineBase64Text(byte[] body) {
        String text = new String(body, StandardCharsets.ISO_8859_1);
        assertFalse(text.isEmpty(), "an empty body");
        assertFalse(text.contains("\r") || text.contains("\n"), "CR or LF in the base64: " + text);
        assertTrue(ONE_LINE_BASE64.matcher(text).matches(), "not one line of base64: " + text);
        return body;
    }

    static byte[] oneLineBase64(byte[] body) {
        return Base64.getDecoder().decode(oneLineBase64Text(body));
    }

    static List<X509Certificate> certsOnly(byte[] der) {
        try {
            CMSSignedData cms = new CMSSignedData(der);
            List<X509Certificate> out = new ArrayList<>();
            for (X509CertificateHolder h : cms.getCertificates().getMatches(null)) {
                out.add(new JcaX509CertificateConverter().getCertificate(h));
            }
            return out;
        } catch (Exception e) {
            throw new AssertionError("not a certs-only CMS message", e);
        }
    }

    static X509Certificate single(List<X509Certificate> certs) {
        assertEquals(1, certs.size(), certs.toString());
        return certs.get(0);
    }

    static void observe(String kind, Response r) {
        OBSERVED.put(kind, r.head());
    }

    /** The CRL is signed at start-up in the background: polled for up to 30 s. */
    static void awaitCrl() throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (true) {
            try (Conn conn = Peer.PUBLICATION.open()) {
                Response r = conn.exchange(request("GET", "/crl/ca.crl", null), false);
                if (r.statusLine().startsWith("HTTP/1.1 200")) {
                    return;
                }
                if (Instant.now().isAfter(deadline)) {
                    fail("no CRL within 30 s: " + r.text());
                }
            }
            Thread.sleep(100);
        }
    }

    // --- raw HTTP/1.1 ---------------------------------------------------------------------------

    /** A response as read off the wire: the header block as sent, its lines split once at the colon. */
    record Response(String head, String statusLine, List<String> headerLines, byte[] body, boolean toHead) {
        List<String> names() {
            return headerLines.stream().map(l -> l.substring(0, l.indexOf(':'))).toList();
        }

        /** The value of the header spelled exactly {@code name}, or null. */
        String value(String name) {
            return headerLines.stream().filter(l -> l.startsWith(name + ":")).map(l -> l.substring(name.length() + 1).strip())
                    .findFirst().orElse(null);
        }

        Optional<String> valueIgnoringCase(String name) {
            return headerLines.stream().filter(l -> l.toLowerCase(Locale.ROOT).startsWith(name.toLowerCase(Locale.ROOT) + ":"))
                    .map(l -> l.substring(name.length() + 1).strip()).findFirst();
        }

        String text() {
            return head + new String(body, StandardCharsets.ISO_8859_1);
        }
    }

    /** One connection, read exactly as far as each response's framing says. */
    static final class Conn implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private byte[] pending = new byte[0];

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(30_000);
            this.in = socket.getInputStream();
        }

        void send(byte[] bytes) throws IOException {
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
        }

        Response exchange(byte[] request, boolean head) throws IOException {
            send(request);
            return read(head);
        }

        /** One response: the header block up to the empty line, then Content-Length bytes (none for HEAD). */
        Response read(boolean head) throws IOException {
            int end;
            while ((end = indexOf(pending, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII))) < 0) {
                if (!fill()) {
                    throw new EOFException("closed before the end of the header block: " + new String(pending, StandardCharsets.ISO_8859_1));
                }
            }
            String block = new String(pending, 0, end + 4, StandardCharsets.ISO_8859_1);
            take(end + 4);
            assertFalse(block.replace("\r\n", "").contains("\n") || block.replace("\r\n", "").contains("\r"),
                    "a bare CR or LF in the header block:\n" + block);
            List<String> lines = List.of(block.substring(0, block.length() - 4).split("\r\n"));
            List<String> headerLines = lines.subList(1, lines.size());
            for (String line : headerLines) {
                int colon = line.indexOf(':');
                assertTrue(colon > 0 && !line.substring(0, colon).contains(" ") && line.startsWith(line.substring(0, colon) + ": "),
                        "a header line is 'Name: value':\n" + block);
            }
            Response framing = new Response(block, lines.get(0), headerLines, new byte[0], head);
            if (framing.valueIgnoringCase("Transfer-Encoding").isPresent()) {
                fail("a chunked response, where Content-Length was promised:\n" + block);
            }
            Optional<String> length = framing.valueIgnoringCase("Content-Length");
            byte[] body;
            if (head) {
                body = new byte[0];
            } else if (length.isPresent()) {
                body = take(Integer.parseInt(length.get()));
            } else {
                fail("no Content-Length:\n" + block);
                return null;
            }
            return new Response(block, lines.get(0), headerLines, body, head);
        }

        /** Everything until the server closes the connection. */
        byte[] rest() throws IOException {
            try {
                while (fill()) {
                    // read on
                }
            } catch (SocketTimeoutException e) {
                throw new IOException("the server neither closed nor sent more within 30 s; got: "
                        + new String(pending, StandardCharsets.ISO_8859_1), e);
            } catch (IOException resetByServer) {
                // what arrived before the reset is what the server sent
            }
            return take(pending.length);
        }

        private boolean fill() throws IOException {
            byte[] buf = new byte[16384];
            int got = in.read(buf);
            if (got < 0) {
                return false;
            }
            byte[] more = Arrays.copyOf(pending, pending.length + got);
            System.arraycopy(buf, 0, more, pending.length, got);
            pending = more;
            return true;
        }

        private byte[] take(int count) throws IOException {
            while (pending.length < count) {
                if (!fill()) {
                    throw new EOFException("closed after " + pending.length + " of " + count + " body bytes");
                }
            }
            byte[] out = Arrays.copyOf(pending, count);
            pending = Arrays.copyOfRange(pending, count, pending.length);
            return out;
        }

        private static int indexOf(byte[] haystack, byte[] needle) {
            outer:
            for (int i = 0; i + needle.length <= haystack.length; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (haystack[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
