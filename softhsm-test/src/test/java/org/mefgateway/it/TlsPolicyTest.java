package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;

/**
 * The TLS policy of both listeners seen from {@code openssl s_client}: TLS 1.2 and 1.3 only,
 * ECDHE with AEAD preferred, TS-0003 10.2's TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 accepted,
 * nothing weaker. The client is told to allow everything (SECLEVEL=0), so a refusal is the
 * server's. A bootstrap certificate that has expired fails the handshake, and a client's TLS 1.2
 * renegotiation is refused.
 */
class TlsPolicyTest {
    static DeviceMaker maker;
    static TestGateway mef;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("TLS Maker CA");
        mef = TestGateway.start(maker);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** s_client's output and whether the handshake completed (exit status 0). */
    record Handshake(boolean completed, String output) {
    }

    static Handshake sClient(int port, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-servername", "localhost", "-CAfile", "ca.pem", "-verify_return_error"));
        command.addAll(List.of(options));
        Path out = Files.createTempFile(dir, "s_client", ".txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "s_client finished");
        String output = Files.readString(out);
        System.out.println("$ " + String.join(" ", command.subList(1, command.size())) + "\n  -> exit " + p.exitValue() + ": "
                + output.lines().filter(l -> l.contains("Cipher is") || l.contains("alert") || l.contains("error")
                        || l.contains("Protocol")).findFirst().orElse("").strip());
        return new Handshake(p.exitValue() == 0 && output.contains("Cipher is") && !output.contains("Cipher is (NONE)"), output);
    }

    @Test
    void tls10And11AreRefusedOnBothListeners() throws Exception {
        for (int port : List.of(mef.gateway.estPort(), mef.gateway.adminPort())) {
            for (String old : List.of("-tls1", "-tls1_1")) {
                Handshake h = sClient(port, old, "-cipher", "DEFAULT:@SECLEVEL=0");
                assertTrue(!h.completed() && h.output().contains("alert protocol version"), old + " on " + port + ":\n" + h.output());
            }
        }
    }

    @Test
    void weakTls12SuitesAreRefused() throws Exception {
        // (DES-CBC3-SHA is not tried: OpenSSL 3 no longer offers it, so the refusal would be the client's.)
        for (String weak : List.of("AES128-SHA", "AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                "ECDHE-ECDSA-NULL-SHA")) {
            Handshake h = sClient(mef.gateway.estPort(), "-tls1_2", "-cipher", weak + ":@SECLEVEL=0");
            assertTrue(!h.completed() && h.output().contains("alert handshake failure"), weak + ":\n" + h.output());
        }
    }

    /** A listener's TLS engine as its metric says: "openssl" (BoringSSL) or "jdk" (JSSE, the fallback). */
    private static String engine(String listener) {
        return mef.gateway.meters().get("mef.tls.engine.info").tag("listener", listener).gauge().getId().getTag("engine");
    }

    @Test
    void ts0003SuiteAndAeadSuitesAndTls13AreAccepted() throws Exception {
        // BoringSSL has no CBC-SHA256 suite: the TS-0003 one is offered on JSSE only (TlsEngine.offers).
        Handshake cbc = sClient(mef.gateway.estPort(), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256");
        if (engine("est").equals("jdk")) {
            assertTrue(cbc.completed() && cbc.output().contains("Cipher is ECDHE-ECDSA-AES128-SHA256"), cbc.output());
        } else {
            assertTrue(!cbc.completed() && cbc.output().contains("alert handshake failure"), cbc.output());
        }
        for (String suite : List.of("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305")) {
            Handshake h = sClient(mef.gateway.estPort(), "-tls1_2", "-cipher", suite);
            assertTrue(h.completed() && h.output().contains("Cipher is " + suite), suite + ":\n" + h.output());
        }
        Handshake tls13 = sClient(mef.gateway.estPort(), "-tls1_3");
        assertTrue(tls13.completed() && tls13.output().contains("TLSv1.3"), tls13.output());
        Handshake admin13 = sClient(mef.gateway.adminPort(), "-tls1_3");
        assertTrue(admin13.completed(), admin13.output());
    }

    @Test
    void theServerPrefersAeadOverTheCbcSuite() throws Exception {
        Handshake h = sClient(mef.gateway.estPort(), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256");
        assertTrue(h.output().contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"), h.output());
    }

    /**
     * TLS 1.2 renegotiation asked for by the client ({@code R} typed into s_client) costs the
     * server a full handshake that no limit sees: refused with a fatal alert and the connection
     * closed, on both listeners (before: renegotiated, the connection kept). JSSE answers
     * handshake_failure, BoringSSL no_renegotiation.
     */
    @Test
    void clientInitiatedTls12RenegotiationIsRefusedOnBothListeners() throws Exception {
        for (var listener : java.util.Map.of("est", mef.gateway.estPort(), "admin", mef.gateway.adminPort()).entrySet()) {
            int port = listener.getValue();
            String alert = engine(listener.getKey()).equals("jdk") ? "alert handshake failure" : "alert no renegotiation";
            List<String> command = List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "localhost",
                    "-CAfile", "ca.pem", "-verify_return_error", "-tls1_2");
            Path out = Files.createTempFile(dir, "renegotiation", ".txt");
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            try {
                awaitOutput(out, "Cipher is", p);
                p.getOutputStream().write("R\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                p.getOutputStream().flush();
                awaitOutput(out, "RENEGOTIATING", p);
                // Refused: the server's alert ends s_client. Renegotiated: it stays connected until its input ends.
                boolean ended = p.waitFor(10, TimeUnit.SECONDS);
                String output = Files.readString(out);
                String after = output.substring(output.indexOf("RENEGOTIATING"));
                System.out.println("$ " + String.join(" ", command.subList(1, command.size())) + ", then R\n  -> "
                        + (ended ? "exit " + p.exitValue() : "still connected 10 s later") + ": "
                        + after.lines().skip(1).findFirst().orElse("").strip());
                assertTrue(ended && p.exitValue() != 0 && after.contains(alert), "port " + port + ":\n" + output);
            } finally {
                p.getOutputStream().close();
                p.destroy();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Polls s_client's output until it contains {@code text} (30 s at most). */
    private static void awaitOutput(Path out, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(out).contains(text)) {
            if (System.nanoTime() > deadline || !p.isAlive()) {
                throw new AssertionError("s_client did not print '" + text + "':\n" + Files.readString(out));
            }
            Thread.sleep(50);
        }
    }

    @Test
    void anExpiredBootstrapCertificateFailsTheHandshake() throws Exception {
        DeviceMaker.Device expired = maker.expiredDevice("expired-device");
        mef.register(expired, "ae-expired", "AE-ID", "//m2m.example.com/CSE3219/C0900", 40);
        HttpClient client = mef.client(expired, true);

        assertThrows(IOException.class, () -> TestGateway.get(client, mef.est("/csrattrs")));
        // The same maker's valid certificate is accepted: it is the expiry that fails.
        DeviceMaker.Device valid = maker.device("valid-device");
        mef.register(valid, "ae-valid", "AE-ID", "//m2m.example.com/CSE3219/C0901", 40);
        assertEquals(200, TestGateway.get(mef.client(valid), mef.est("/csrattrs")).statusCode());
    }
}
