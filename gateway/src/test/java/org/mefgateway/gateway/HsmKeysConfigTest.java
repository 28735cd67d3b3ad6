package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmConfig;

/** The hsm section: the default key, named keys, replicas, and what each inherits. */
class HsmKeysConfigTest {

    @Test
    void theShippedConfigurationHasOneDefaultKeyWithAMeasuredPool() throws Exception {
        GatewayConfig c = GatewayConfig.load(Path.of("../ops/config/mefgate.yaml"));
        assertEquals(List.of(CaKeyConfig.DEFAULT), c.caKeys().stream().map(CaKeyConfig::name).toList());
        assertEquals(HsmConfig.AUTO_THREADS, c.hsm().signerThreads());
        assertEquals(c.hsm(), c.caKeys().get(0).primary());
    }

    @Test
    void namedKeysAndReplicasInheritWhatTheyDoNotSet(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, String.join("\n",
                "hsm:",
                "  library: /opt/hsm/lib.so",
                "  tokenLabel: main",
                "  keyLabel: ca-p256",
                "  pinFile: /secrets/main.pin",
                "  signerThreads: 4",
                "  queueCapacity: 100",
                "  replicas:",
                "    - {tokenLabel: main-2, pinEnv: MAIN2_PIN}",
                "  keys:",
                "    iot: {keyLabel: iot-rsa, signerThreads: auto}",
                "    fleet: {tokenLabel: fleet, keyLabel: fleet-ca, replicas: [{library: /opt/other/lib.so}]}",
                "")));
        assertEquals(List.of("default", "fleet", "iot"), c.caKeys().stream().map(CaKeyConfig::name).toList());

        CaKeyConfig main = c.caKeys().get(0);
        HsmConfig replica = main.tokens().get(1);
        assertEquals("main-2", replica.tokenLabel());
        assertEquals("ca-p256", replica.keyLabel());
        assertEquals(Path.of("/opt/hsm/lib.so"), replica.library());
        assertEquals(Optional.of("MAIN2_PIN"), replica.pinEnv());
        assertEquals(Optional.empty(), replica.pinFile(), "a replica's own PIN source replaces the inherited one");
        assertEquals(4, replica.signerThreads());

        HsmConfig iot = c.caKeys().get(2).primary();
        assertEquals("main", iot.tokenLabel());
        assertEquals("iot-rsa", iot.keyLabel());
        assertEquals(HsmConfig.AUTO_THREADS, iot.signerThreads());
        assertEquals(Optional.of(Path.of("/secrets/main.pin")), iot.pinFile());

        CaKeyConfig fleet = c.caKeys().get(1);
        assertEquals("fleet", fleet.tokens().get(1).tokenLabel());
        assertEquals("fleet-ca", fleet.tokens().get(1).keyLabel());
        assertEquals(Path.of("/opt/other/lib.so"), fleet.tokens().get(1).library());
        assertEquals(100, fleet.tokens().get(1).queueCapacity());
    }

    @Test
    void aNamedKeyCannotBeCalledDefault(@TempDir Path dir) throws Exception {
        Path file = write(dir, "hsm: {keys: {default: {keyLabel: x}}}");
        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(file));
        assertTrue(e.getMessage().contains("hsm.keys"), e.getMessage());
    }

    @Test
    void aNamedKeyCannotBeCalledCaWhoseCrlPathIsTheDefaultKeys(@TempDir Path dir) throws Exception {
        Path file = write(dir, "hsm: {keys: {ca: {keyLabel: x}}}");
        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(file));
        assertEquals(file + ":1: hsm.keys.ca: 'ca' is reserved: /crl/ca.crl is the top-level key's CRL", e.getMessage());
    }

    @Test
    void replicasMustBeAListOfMappings(@TempDir Path dir) throws Exception {
        Path file = write(dir, "hsm: {replicas: [main-2]}");
        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(file));
        assertTrue(e.getMessage().contains("hsm.replicas[0]"), e.getMessage());
    }

    private static Path write(Path dir, String yaml) throws Exception {
        return Files.writeString(dir.resolve("mefgate.yaml"), yaml);
    }
}
