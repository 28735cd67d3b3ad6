package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.scep.ScepConfig;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {

    @Test
    void shippedConfigurationLoadsWithItsDocumentedValues() throws Exception {
        GatewayConfig c = GatewayConfig.load(Path.of("../ops/config/mefgate.yaml"));

        assertEquals(8443, c.est().port());
        assertEquals(9443, c.admin().port());
        assertEquals("mef-ca", c.hsm().tokenLabel());
        assertEquals(Optional.of(Path.of("var/secrets/hsm-user.pin")), c.hsm().pinFile());
        assertEquals(Optional.empty(), c.hsm().pinEnv());
        assertEquals(Path.of("ops/config/policies"), c.policyDir());
        assertEquals(Path.of("var/ca/ca.pem"), c.dataDir().caCertificate());
        assertEquals(new GatewayConfig.Limits(8192, 4096, Duration.ofSeconds(30), Duration.ofSeconds(60), 1024, 64, 20, 200, 100_000,
                Duration.ofSeconds(5), 4),
                c.est().limits());
        assertEquals(65536, c.est().maxBodyBytes());
    }

    @Test
    void limitsHaveSafeDefaults(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "hsm: {signerThreads: auto}"));

        assertEquals(new GatewayConfig.Limits(8192, 4096, Duration.ofSeconds(30), Duration.ofSeconds(60), 1024, 64, 20, 200, 100_000,
                Duration.ofSeconds(5), 4),
                c.est().limits());
    }

    @Test
    void limitsAreConfigurableAndZeroOrNegativeIsRefused(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "est: {maxInFlight: 3, requestTimeoutSeconds: 2, rateLimit: {perClientPerSecond: 0}, "
                + "bodyTimeoutSeconds: 1, maxBodyReadsPerClient: 2}"));
        assertEquals(3, c.est().limits().maxInFlight());
        assertEquals(Duration.ofSeconds(2), c.est().limits().requestTimeout());
        assertEquals(0, c.est().limits().perClientPerSecond());
        assertEquals(Duration.ofSeconds(1), c.est().limits().bodyTimeout());
        assertEquals(2, c.est().limits().maxBodyReadsPerClient());

        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(write(dir, "est: {maxConnections: 0}")));
        assertTrue(e.getMessage().contains("est.maxConnections"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> GatewayConfig.load(write(dir, "est: {maxBodyReadsPerClient: 0}")));
        assertTrue(e.getMessage().contains("est.maxBodyReadsPerClient"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> GatewayConfig.load(write(dir, "est: {rateLimit: {perClientPerSecond: -1}}")));
        assertTrue(e.getMessage().contains("est.rateLimit.perClientPerSecond"), e.getMessage());
    }

    /** The defaults: SCEP at http://HOST:8080/scep on the publication listener, modern algorithms only. */
    @Test
    void scepHasSafeDefaults(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "hsm: {signerThreads: auto}"));

        assertEquals(new ScepConfig(true, "/scep", Set.of(ScepConfig.Listener.PUBLICATION), 16, 10, 20, 100_000, false,
                Duration.ofSeconds(600)), c.scep());
        assertEquals("http://127.0.0.1:8080/scep", Gateway.scepUri(c, 8443, 8080));
    }

    @Test
    void scepIsConfigurableAndItsUriFollowsPathAndListener(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "est: {serverNames: [mef.example.com]}\n"
                + "scep: {enabled: false, path: /cgi-bin/pkiclient.exe, listeners: [est], maxInFlight: 4, "
                + "rateLimit: {perClientPerSecond: 0, perClientBurst: 3, maxTrackedClients: 7}, legacyAlgorithms: true, maxClockSkewSeconds: 60}"));

        assertEquals(new ScepConfig(false, "/cgi-bin/pkiclient.exe", Set.of(ScepConfig.Listener.EST), 4, 0, 3, 7, true,
                Duration.ofSeconds(60)), c.scep());
        assertEquals("https://mef.example.com:8443/cgi-bin/pkiclient.exe", Gateway.scepUri(c, 8443, 8080));

        GatewayConfig both = GatewayConfig.load(write(dir, "scep: {listeners: [est, publication]}"));
        assertEquals("http://127.0.0.1:8080/scep", Gateway.scepUri(both, 8443, 8080), "plain HTTP is preferred where it is served");
    }

    @Test
    void shippedPolicyDirectoryServesTheDefaultAeAndCseProfiles() throws Exception {
        var engines = org.mefgateway.gateway.core.PolicyDirectory.read(Path.of("../ops/config/policies"),
                java.util.Set.of("default"));

        assertEquals(java.util.Set.of("default", "ae", "cse"), engines.keySet());
        assertEquals(Duration.ofSeconds(600), engines.get("default").profile().challenge().lifetime());
    }

    @Test
    void pinComesFromMefHsmPinWhenNoSourceIsConfigured(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "hsm: {tokenLabel: t}"));

        assertEquals(Optional.of("MEF_HSM_PIN"), c.hsm().pinEnv());
    }

    @Test
    void theFormerInlineProfileSectionIsRefusedWithWhereProfilesLiveNow(@TempDir Path dir) throws Exception {
        Path file = write(dir, "profile: {validityDays: 30}");

        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(file));
        assertTrue(e.getMessage().contains("policy directory"), e.getMessage());
    }

    @Test
    void errorsNameTheFileAndTheKey(@TempDir Path dir) throws Exception {
        Path file = write(dir, "est: {port: 70000}");
        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("est.port"), e.getMessage());

        ConfigException notNumber = assertThrows(ConfigException.class,
                () -> GatewayConfig.load(write(dir, "hsm: {signerThreads: many}")));
        assertTrue(notNumber.getMessage().contains("hsm.signerThreads"), notNumber.getMessage());

    }

    @Test
    void bothPinSourcesAtOnceAreRefused(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> GatewayConfig.load(write(dir, "hsm: {pinEnv: X, pinFile: /tmp/p}")));
        assertTrue(e.getMessage().contains("pinEnv"), e.getMessage());
    }

    private static Path write(Path dir, String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "mefgate", ".yaml");
        Files.writeString(f, yaml + "\n");
        return f;
    }
}
