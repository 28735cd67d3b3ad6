package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.TlsMaterial;

/**
 * Proof of possession linked to TLS (RFC 7030 3.5) with the tls-exporter channel binding of
 * RFC 9266, on a profile that requires it. The client is a raw TLS socket speaking HTTP/1.1, so
 * that the CSR provably travels on the session whose binding it carries (or, for the refusal, on
 * another one); the binding is computed with the JDK's own exporter API (JDK 25+), not with the
 * gateway's code. On older JDKs the gateway refuses such a profile (see PolicyDirectoryTest).
 */
class ChannelBindingTest {
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        if (Runtime.version().feature() < 25) {
            return;  // each test is skipped in needsJdk25()
        }
        maker = DeviceMaker.create("Maker Binding CA");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE,
                "bound.yaml", "challenge: {required: false, channelBinding: true}\n"), maker);
    }

    /**
     * Per test, not in @BeforeAll: surefire reports a class skipped in @BeforeAll as 0 tests run
     * and 0 skipped, so the skip and its reason would vanish from the count and from ops/test's
     * list of skipped tests (where this reason is on the allowlist).
     */
    @BeforeEach
    void needsJdk25() {
        assumeTrue(Runtime.version().feature() >= 25, "tls-exporter needs JDK 25 (ExtendedSSLSession.exportKeyingMaterialData)");
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    @Test
    void aCsrCarryingTheBindingOfItsOwnTls13SessionIsIssued() throws Exception {
        DeviceMaker.Device device = register("bound-1");
        try (SSLSocket tls = connect(device, "TLSv1.3")) {
            String csr = TestCsr.p256().subject("CN=//m2m.example.com/bound-1").uri("//m2m.example.com/bound-1")
                    .challenge(tlsExporter(tls)).base64();

            Response r = post(tls, "/.well-known/est/bound/simpleenroll", csr);

            assertEquals(200, r.status(), r.body());
        }
    }

    @Test
    void aCsrMadeForAnotherTlsSessionIsRefused() throws Exception {
        DeviceMaker.Device device = register("bound-2");
        int issued = mef.issued().size();
        String bindingOfA;
        try (SSLSocket a = connect(device, "TLSv1.3")) {
            bindingOfA = tlsExporter(a);
        }
        try (SSLSocket b = connect(device, "TLSv1.3")) {
            String csr = TestCsr.p256().subject("CN=//m2m.example.com/bound-2").uri("//m2m.example.com/bound-2")
                    .challenge(bindingOfA).base64();

            Response r = post(b, "/.well-known/est/bound/simpleenroll", csr);

            assertEquals(403, r.status(), r.body());
            assertTrue(r.body().startsWith("refused by rule challenge.channel-binding of profile bound: "), r.body());
        }
        assertEquals(issued, mef.issued().size());
    }

    @Test
    void aTls12SessionHasNoBindingTheGatewayCanCheckAndIsToldToUseTls13() throws Exception {
        DeviceMaker.Device device = register("bound-3");
        try (SSLSocket tls = connect(device, "TLSv1.2")) {
            String csr = TestCsr.p256().subject("CN=//m2m.example.com/bound-3").uri("//m2m.example.com/bound-3")
                    .challenge("AAAA").base64();

            Response r = post(tls, "/.well-known/est/bound/simpleenroll", csr);

            assertEquals(403, r.status(), r.body());
            assertTrue(r.body().contains("use TLS 1.3 (tls-exporter, RFC 9266)"), r.body());
        }
    }

    private static DeviceMaker.Device register(String id) throws Exception {
        DeviceMaker.Device device = maker.device(id);
        mef.register(device, id, "AE-ID", "//m2m.example.com/" + id, 40);
        return device;
    }

    private static SSLSocket connect(DeviceMaker.Device device, String protocol) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(device.keyStore(), DeviceMaker.Device.PASSWORD);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), TlsMaterial.trustManagers(List.of(mef.caCertificate)).getTrustManagers(), null);
        SSLSocket socket = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", mef.gateway.estPort());
        socket.setEnabledProtocols(new String[] {protocol});
        socket.setSoTimeout(30_000);
        socket.startHandshake();
        return socket;
    }

    /** RFC 9266: 32 bytes exported with the label "EXPORTER-Channel-Binding" and no context, base64. */
    private static String tlsExporter(SSLSocket socket) throws Exception {
        ExtendedSSLSession session = (ExtendedSSLSession) socket.getSession();
        byte[] value = (byte[]) ExtendedSSLSession.class
                .getMethod("exportKeyingMaterialData", String.class, byte[].class, int.class)
                .invoke(session, "EXPORTER-Channel-Binding", null, 32);
        return Base64.getEncoder().encodeToString(value);
    }

    record Response(int status, String body) {
    }

    /** One HTTP/1.1 POST on the socket, read back by Content-Length. */
    private static Response post(SSLSocket socket, String path, String body) throws IOException {
        byte[] content = body.getBytes(StandardCharsets.US_ASCII);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkcs10\r\n"
                + "Content-Length: " + content.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(content);
        out.flush();
        InputStream in = socket.getInputStream();
        String head = readHead(in);
        int status = Integer.parseInt(head.substring(9, 12));
        int length = 0;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        return new Response(status, new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed in the response head: " + head);
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }
}
