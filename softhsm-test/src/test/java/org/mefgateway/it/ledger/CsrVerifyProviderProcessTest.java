package org.mefgateway.it.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;

/**
 * The CSR verification provider and the TLS engine are chosen once per JVM by one switch
 * (policy-engine's NativeCrypto), so the fallback is proven on a gateway process of its own:
 * started with {@code MEF_NATIVE_CRYPTO=off} it still enrols (over JSSE) and refuses a forged CSR,
 * says so at start, on /health/ready and in {@code mef_crypto_provider_info} and
 * {@code mef_tls_engine_info}; the same node restarted without it reports the native ACCP and
 * BoringSSL, and authenticates the Enrolee over it.
 */
class CsrVerifyProviderProcessTest {

    @Test
    void gatewayWithTheFallbackForcedEnrolsAndReportsItThenTheNativeProviderAfterARestart(@TempDir Path dir) throws Exception {
        DeviceMaker maker = DeviceMaker.create("Maker Fallback CA");
        GatewayProcess node = GatewayProcess.init(Nodes.config(dir, "node", SoftHsm.fresh("mef-test"), Nodes.trust(dir, maker), ""))
                .environment("MEF_NATIVE_CRYPTO", "off").start();
        try {
            X509Certificate ca = Pem.read(node.config.dataDir().caCertificate()).get(0);
            String aeId = "//m2m.example.com/CSE1/fallback";
            DeviceMaker.Device device = maker.device("fallback");
            Nodes.register(node.config, device, "fallback", aeId);
            var client = Est.client(device, ca);

            byte[] forged = Base64.getMimeDecoder().decode(Est.csr(aeId, Est.challenge(client, node.est("/csrattrs"))));
            forged[forged.length - 5] ^= 0x01; // inside the signature value
            HttpResponse<String> refused = Est.simpleenroll(client, node.est("/simpleenroll"), Base64.getEncoder().encodeToString(forged));
            assertEquals(400, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("csr.signature"), refused.body());

            HttpResponse<String> issued = Est.simpleenroll(client, node.est("/simpleenroll"),
                    Est.csr(aeId, Est.challenge(client, node.est("/csrattrs"))));
            assertEquals(200, issued.statusCode(), issued.body());
            Est.certificate(issued).verify(ca.getPublicKey());

            assertEquals("BouncyCastle", readyProvider(node));
            assertEquals("jdk", ready(node).getString("tls_engine"));
            assertTrue(metrics(node).contains("mef_tls_engine_info{engine=\"jdk\",listener=\"est\"} 1\n"), "the metric names JSSE");
            assertTrue(Files.readString(node.log).contains(
                    "TLS engine of the est listener: jdk (forced off by MEF_NATIVE_CRYPTO=off)"), Files.readString(node.log));
            assertTrue(metrics(node).contains("mef_crypto_provider_info{provider=\"BouncyCastle\",use=\"csr_verify\"} 1\n"),
                    "the metric names the fallback");
            assertTrue(Files.readString(node.log).contains(
                    "CSR signature verification: BouncyCastle (fallback: forced off by MEF_NATIVE_CRYPTO=off)"), Files.readString(node.log));

            node.close();
            node.environment("MEF_NATIVE_CRYPTO", null).start();
            assertEquals("ACCP", readyProvider(node));
            assertTrue(metrics(node).contains("mef_crypto_provider_info{provider=\"ACCP\",use=\"csr_verify\"} 1\n"),
                    "the metric names the native provider");
            assertEquals("openssl", ready(node).getString("tls_engine"));
            assertTrue(metrics(node).contains("mef_tls_engine_info{engine=\"openssl\",listener=\"est\"} 1\n"), "the metric names BoringSSL");
            DeviceMaker.Device next = maker.device("native");
            Nodes.register(node.config, next, "native", "//m2m.example.com/CSE1/native");
            Est.challenge(Est.client(next, ca), node.est("/csrattrs")); // authenticated over BoringSSL
        } finally {
            node.close();
        }
    }

    private static String readyProvider(GatewayProcess node) throws Exception {
        return ready(node).getString("csr_verify_provider");
    }

    private static JsonObject ready(GatewayProcess node) throws Exception {
        HttpResponse<String> ready = new AdminClient(node.config).get("/health/ready");
        assertEquals(200, ready.statusCode(), ready.body());
        return new JsonObject(ready.body());
    }

    private static String metrics(GatewayProcess node) throws Exception {
        return new AdminClient(node.config).get("/metrics").body();
    }
}
