package org.mefgateway.it.ledger;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;

/**
 * The graceful stop of the real process (README "Monitoring"): SIGTERM to {@code mefgate serve}
 * started from the shaded CLI jar, while an enrolment's body is only half sent. GracefulShutdownTest
 * proves the same promise through {@code Gateway.close()} in the test's own JVM; this one goes
 * through the JVM's signal handling and the shutdown hook that {@code serve} installs.
 */
class GracefulStopProcessTest {
    /**
     * 128 + 15 (SIGTERM's number): the JVM's SIGTERM handler starts System.exit(143), which runs the
     * shutdown hooks (serve's: Gateway.close()) and then ends the process with that status. Seen
     * as 143 here on JDK 25. A process killed by the signal outright is also reported as 143 by
     * Process.exitValue(), so the code alone does not show that the hook ran; the log's
     * "stopped", written at the very end of Gateway.close(), does.
     */
    static final int EXIT_CODE_AFTER_SIGTERM = 143;
    /** Generous: the drain limit is 10 s, and the test asserts no timing beyond "it exited". */
    static final Duration EXIT_BOUND = Duration.ofSeconds(60);

    @Test
    void anEnrolmentHalfSentAtSigtermIsCompletedAndItsCertificateIsInTheLedger(@TempDir Path dir) throws Exception {
        DeviceMaker maker = DeviceMaker.create("Maker Sigterm CA");
        GatewayProcess node = GatewayProcess.init(Nodes.config(dir, "node", SoftHsm.fresh("mef-test"), Nodes.trust(dir, maker), "")).start();
        try {
            X509Certificate ca = Pem.read(node.config.dataDir().caCertificate()).get(0);
            String aeId = "//m2m.example.com/CSE1/sigterm-completed";
            DeviceMaker.Device device = maker.device("sigterm-completed");
            Nodes.register(node.config, device, "sigterm-completed", aeId);
            byte[] csr = Est.csr(aeId, Est.challenge(Est.client(device, ca), node.est("/csrattrs"))).getBytes(US_ASCII);

            X509Certificate issued;
            try (SSLSocket tls = connect(node.est("/simpleenroll"), device, ca)) {
                int half = csr.length / 2;
                beginEnrolment(tls, node.est("/simpleenroll"), csr.length);
                send(tls, Arrays.copyOfRange(csr, 0, half));

                node.sigterm();
                awaitLog(node, "stopping: no new connections");
                send(tls, Arrays.copyOfRange(csr, half, csr.length));

                String answer = readResponse(tls.getInputStream());
                assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
                issued = certificateIn(answer.substring(answer.indexOf("\r\n\r\n") + 4));
                issued.verify(ca.getPublicKey());
            }

            int exitCode = node.exitCode(EXIT_BOUND);
            String log = Files.readString(node.log);
            System.out.println("[graceful stop] exit code " + exitCode + "; " + drainLine(log));
            assertEquals(EXIT_CODE_AFTER_SIGTERM, exitCode, log);
            assertTrue(log.contains("within the drain limit of 10 s: no request was cut off"), log);
            assertTrue(log.contains("INFO Gateway - stopped\n"), "the shutdown hook ran to its end: " + log);

            node.start();  // the same data directory: what the first process wrote, this one reads
            JsonArray ledger = new JsonArray(new AdminClient(node.config).get("/admin/certificates").body());
            String serial = issued.getSerialNumber().toString(16);
            assertEquals(List.of(Base64.getEncoder().encodeToString(issued.getEncoded())),
                    ledger.stream().map(JsonObject.class::cast).filter(e -> serial.equals(e.getString("serial")))
                            .map(e -> e.getString("certificate")).toList(),
                    "the certificate handed out during the stop is in the ledger, byte for byte: " + ledger.encode());
        } finally {
            node.close();
        }
    }

    @Test
    void aBodyNeverCompletedIsCutOffAtTheDrainLimitAndTheProcessStillExits(@TempDir Path dir) throws Exception {
        DeviceMaker maker = DeviceMaker.create("Maker Drain CA");
        // The body deadline (est.bodyTimeoutSeconds, 5 s by default) would answer such a body with
        // 408 before the drain limit (10 s) is reached: set beyond it, so the drain limit is what cuts it off.
        GatewayProcess node = GatewayProcess.init(Nodes.config(dir, "node", SoftHsm.fresh("mef-test"), Nodes.trust(dir, maker), "",
                "bodyTimeoutSeconds: 20")).start();
        try {
            X509Certificate ca = Pem.read(node.config.dataDir().caCertificate()).get(0);
            String aeId = "//m2m.example.com/CSE1/sigterm-held";
            DeviceMaker.Device device = maker.device("sigterm-held");
            Nodes.register(node.config, device, "sigterm-held", aeId);
            byte[] csr = Est.csr(aeId, Est.challenge(Est.client(device, ca), node.est("/csrattrs"))).getBytes(US_ASCII);

            try (SSLSocket tls = connect(node.est("/simpleenroll"), device, ca)) {
                beginEnrolment(tls, node.est("/simpleenroll"), csr.length);
                send(tls, Arrays.copyOfRange(csr, 0, csr.length / 2));

                node.sigterm();
                // The rest of the body never comes: the gateway closes the connection once the
                // drain limit is reached, without a byte of an answer.
                assertEquals(-1, tls.getInputStream().read(), "the request in flight is cut off, not answered");
            }

            int exitCode = node.exitCode(EXIT_BOUND);
            String log = Files.readString(node.log);
            System.out.println("[graceful stop] exit code " + exitCode + "; " + drainLine(log));
            assertEquals(EXIT_CODE_AFTER_SIGTERM, exitCode, log);
            assertTrue(log.contains("the drain limit of 10 s was reached, requests still in flight were cut off"), log);
            assertTrue(log.contains("INFO Gateway - stopped\n"), "the shutdown hook ran to its end: " + log);
        } finally {
            node.close();
        }
    }

    /** What Gateway.close() logged about the drain (for the test's output), or "" if nothing. */
    private static String drainLine(String log) {
        return log.lines().filter(l -> l.contains("EST listener drained in")).findFirst().orElse("");
    }

    /** A device's TLS connection to the EST listener (its bootstrap certificate, the MEF CA trusted), with a 60 s read timeout. */
    private static SSLSocket connect(URI est, DeviceMaker.Device device, X509Certificate ca) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(device.keyStore(), DeviceMaker.Device.PASSWORD);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), TlsMaterial.trustManagers(List.of(ca)).getTrustManagers(), null);
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket();
        tls.connect(new InetSocketAddress(est.getHost(), est.getPort()), 10_000);
        tls.setSoTimeout(60_000);
        tls.startHandshake();
        return tls;
    }

    /**
     * The request head of a simpleenroll with {@code Expect: 100-continue}: the gateway sends
     * 100 Continue once it has routed the request and wants the body, so when this returns the
     * request is in flight on the gateway, not still in a socket buffer.
     */
    private static void beginEnrolment(SSLSocket tls, URI simpleenroll, int contentLength) throws IOException {
        send(tls, ("POST " + simpleenroll.getPath() + " HTTP/1.1\r\nHost: " + simpleenroll.getAuthority()
                + "\r\nContent-Type: application/pkcs10\r\nContent-Length: " + contentLength
                + "\r\nExpect: 100-continue\r\n\r\n").getBytes(US_ASCII));
        String interim = readHead(tls.getInputStream());
        assertTrue(interim.startsWith("HTTP/1.1 100 "), interim);
    }

    private static void send(SSLSocket tls, byte[] bytes) throws IOException {
        tls.getOutputStream().write(bytes);
        tls.getOutputStream().flush();
    }

    /** Polls the gateway's log until it holds {@code line}: the shutdown hook has begun. */
    private static void awaitLog(GatewayProcess node, String line) throws Exception {
        for (int i = 0; i < 600; i++) {
            if (Files.readString(node.log).contains(line)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the gateway did not log '" + line + "' within 30 s: " + Files.readString(node.log));
    }

    /** Status line and headers, up to and with the blank line. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the connection closed after: " + head.toString(ISO_8859_1));
            }
            head.write(b);
        }
        return head.toString(ISO_8859_1);
    }

    /** One response: its head, then exactly Content-Length bytes of body. */
    private static String readResponse(InputStream in) throws IOException {
        String head = readHead(in);
        Matcher length = Pattern.compile("(?i)\\r\\ncontent-length: *(\\d+)\\r\\n").matcher(head);
        assertTrue(length.find(), head);
        return head + new String(in.readNBytes(Integer.parseInt(length.group(1))), US_ASCII);
    }

    private static X509Certificate certificateIn(String certsOnlyBase64) throws Exception {
        CMSSignedData cms = new CMSSignedData(Base64.getMimeDecoder().decode(certsOnlyBase64));
        byte[] der = cms.getCertificates().getMatches(null).iterator().next().getEncoded();
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }
}
