package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
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
    }

    @Test
    void shippedPolicyDirectoryServesTheDefaultAeAndCseProfiles() throws Exception {
        var engines = org.mefgateway.gateway.mef.PolicyDirectory.read(Path.of("../ops/config/policies"),
                java.util.Set.of("default"));

        assertEquals(java.util.Set.of("default", "ae", "cse"), engines.keySet());
        assertEquals(Duration.ofSeconds(600), engines.get("default").profile().challenge().lifetime());
    }

    @Test
    void estSheddingLimitDefaultsTo128AndRefusesNegativeValues(@TempDir Path dir) throws Exception {
        assertEquals(128, GatewayConfig.load(write(dir, "est: {port: 0}")).est().maxInFlight());
        assertEquals(0, GatewayConfig.load(write(dir, "est: {maxInFlight: 0}")).est().maxInFlight());

        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(write(dir, "est: {maxInFlight: -1}")));
        assertTrue(e.getMessage().contains("est.maxInFlight"), e.getMessage());
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
