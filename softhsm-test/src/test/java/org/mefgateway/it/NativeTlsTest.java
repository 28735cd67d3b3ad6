package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonObject;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.policy.NativeCrypto;

/**
 * The EST and admin listeners on BoringSSL (netty-tcnative): the engine is reported; a
 * reconnecting client resumes its session (TLS 1.3 ticket, TLS 1.2 session id) instead of a full
 * handshake, proven with openssl s_client ("Reused") and with the JDK's client (not asked for its
 * certificate again); and a resumed connection is still the same Enrolee, looked up in the ledger
 * per request, so a removal since the full handshake is not bypassed. (With native crypto forced
 * off these tests do not apply; CsrVerifyProviderProcessTest proves the fallback.)
 */
class NativeTlsTest {
    private static final String CSRATTRS = "GET /.well-known/est/csrattrs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    @TempDir
    static Path dir;
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Native TLS Maker CA");
        mef = TestGateway.start(maker);
        Pem.write(dir.resolve("ca.pem"), mef.caCertificate);
    }

    /** Per test, so that ops/test.d/skips sees the reason (a skip in @BeforeAll reports none). */
    @BeforeEach
    void needsBoringSsl() {
        assumeTrue(NativeCrypto.forcedOff().isEmpty(), "native crypto is forced off in this run");
        assumeTrue(io.vertx.core.net.OpenSSLEngineOptions.isAvailable(), "netty-tcnative BoringSSL did not load (linux-x86_64 only)");
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    /** s_client to the EST listener sending {@code request} and reading the answer to the end (the ticket of TLS 1.3 comes after the handshake). */
    private static String sClient(String request, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + mef.gateway.estPort(),
                "-servername", "localhost", "-CAfile", "ca.pem", "-verify_return_error", "-ign_eof"));
        command.addAll(List.of(options));
        Path in = Files.writeString(Files.createTempFile(dir, "request", ".txt"), request);
        Path out = Files.createTempFile(dir, "s_client", ".txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(in.toFile()).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "s_client finished");
        String output = Files.readString(out);
        System.out.println("$ " + String.join(" ", command.subList(1, command.size())) + "\n  -> " + output.lines()
                .filter(l -> l.startsWith("New,") || l.startsWith("Reused,")).toList() + " " + status(output));
        return output;
    }

    /** The status line of the answer; s_client may print a ticket that arrives amid it, so it is searched for, not read by line. */
    private static String status(String output) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("HTTP/1\\.1 \\d{3}[^\r\n]*").matcher(output);
        return m.find() ? m.group() : "no HTTP answer";
    }

    @Test
    void bothListenersRunOnBoringSslAndSayItOnHealthAndInTheMetric() throws Exception {
        for (String listener : List.of("est", "admin")) {
            assertEquals("openssl", mef.gateway.meters().get("mef.tls.engine.info").tag("listener", listener).gauge().getId()
                    .getTag("engine"), listener);
        }
        HttpResponse<String> ready = new AdminClient(mef.config).get("/health/ready");
        assertEquals("openssl", new JsonObject(ready.body()).getString("tls_engine"), ready.body());
    }

    @Test
    void aTls13SessionResumesWithItsTicket() throws Exception {
        assertTrue(sClient(CSRATTRS, "-tls1_3", "-sess_out", "tls13.session").contains("\nNew, TLSv1.3"));
        String resumed = sClient(CSRATTRS, "-tls1_3", "-sess_in", "tls13.session");
        assertTrue(resumed.contains("\nReused, TLSv1.3"), resumed);
    }

    @Test
    void aTls12SessionResumesByItsId() throws Exception {
        assertTrue(sClient(CSRATTRS, "-tls1_2", "-sess_out", "tls12.session").contains("\nNew, TLSv1.2"));
        String resumed = sClient(CSRATTRS, "-tls1_2", "-sess_in", "tls12.session");
        assertTrue(resumed.contains("\nReused, TLSv1.2"), resumed);
    }

    @Test
    void aResumedSessionIsTheSameEnroleeUntilItIsRemoved() throws Exception {
        DeviceMaker.Device device = maker.device("resuming-device");
        mef.register(device, "ae-resuming", "AE-ID", "//m2m.example.com/CSE3219/C0950", 40);
        Pem.write(dir.resolve("device.pem"), device.certificate());
        Files.writeString(dir.resolve("device.key"), "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(device.keys().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");

        String full = sClient(CSRATTRS, "-tls1_3", "-cert", "device.pem", "-key", "device.key", "-sess_out", "device.session");
        assertEquals("HTTP/1.1 200 OK", status(full), full);
        // No certificate offered now: the identity comes with the resumed session.
        String resumed = sClient(CSRATTRS, "-tls1_3", "-sess_in", "device.session");
        assertTrue(resumed.contains("\nReused, TLSv1.3"), resumed);
        assertEquals("HTTP/1.1 200 OK", status(resumed), resumed);
        String anonymous = sClient(CSRATTRS, "-tls1_3");
        assertEquals("HTTP/1.1 401 Unauthorized", status(anonymous), anonymous);

        assertEquals(204, new AdminClient(mef.config).delete("/admin/enrolees/ae-resuming").statusCode());
        String afterRemoval = sClient(CSRATTRS, "-tls1_3", "-sess_in", "device.session");
        assertTrue(afterRemoval.contains("\nReused, TLSv1.3"), afterRemoval);
        assertEquals("HTTP/1.1 403 Forbidden", status(afterRemoval), afterRemoval);
    }

    /** The JDK's client resumes too: on a resumed TLS 1.3 session the server asks for no certificate, so its key manager is asked once. */
    @Test
    void theJdkClientResumesAndIsNotAskedForItsCertificateAgain() throws Exception {
        DeviceMaker.Device device = maker.device("jdk-client-device");
        mef.register(device, "ae-jdk-client", "AE-ID", "//m2m.example.com/CSE3219/C0951", 40);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(device.keyStore(), DeviceMaker.Device.PASSWORD);
        AtomicInteger asked = new AtomicInteger();
        KeyManager counting = counting((X509ExtendedKeyManager) kmf.getKeyManagers()[0], asked);
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(new KeyManager[] {counting}, TlsMaterial.trustManagers(List.of(mef.caCertificate)).getTrustManagers(), null);

        // Two clients: two connections, one SSLContext and so one session cache.
        for (int connection = 0; connection < 2; connection++) {
            HttpClient client = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
            assertEquals(200, TestGateway.get(client, mef.est("/csrattrs")).statusCode());
        }
        assertEquals(1, asked.get(), "the client certificate was asked for on the full handshake only");
    }

    private static X509ExtendedKeyManager counting(X509ExtendedKeyManager keys, AtomicInteger asked) {
        return new X509ExtendedKeyManager() {
            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                asked.incrementAndGet();
                return keys.chooseEngineClientAlias(keyType, issuers, engine);
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                asked.incrementAndGet();
                return keys.chooseClientAlias(keyType, issuers, socket);
            }

            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return keys.getClientAliases(keyType, issuers);
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return keys.getServerAliases(keyType, issuers);
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return keys.chooseServerAlias(keyType, issuers, socket);
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return keys.getCertificateChain(alias);
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return keys.getPrivateKey(alias);
            }
        };
    }
}
