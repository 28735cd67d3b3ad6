package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * mefgate.yaml is read as strictly as a policy profile (issue 14, item 8): a typo, a key given
 * twice or settings that cannot work together are refused at start with file:line, the dotted
 * key and what is valid, instead of silently running with a default.
 */
class GatewayConfigStrictnessTest {
    private static final String EST_KEYS = "[bodyTimeoutSeconds, bootstrapTrustDir, host, idleTimeoutSeconds, maxBodyBytes, maxBodyReadsPerClient, maxConnections, maxHeaderBytes, "
            + "maxInFlight, maxInitialLineBytes, port, rateLimit, requestTimeoutSeconds, serverNames]";
    private static final String HSM_KEYS = "[keyLabel, keys, library, pinEnv, pinFile, queueCapacity, replicas, signerThreads, tokenLabel]";
    private static final String REPLICA_KEYS = "[keyLabel, library, pinEnv, pinFile, queueCapacity, signerThreads, tokenLabel]";

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("est:\n  port: 8443\n  maxInflight: 3",
                        "3: est.maxInflight: unknown key; valid keys here: " + EST_KEYS),
                Arguments.of("esst:\n  port: 8443",
                        "1: esst: unknown key; valid keys here: [admin, ca, dataDir, est, hsm, policyDir, publication, scep, store]"),
                Arguments.of("hsm:\n  queueCapacty: 2048",
                        "2: hsm.queueCapacty: unknown key; valid keys here: " + HSM_KEYS),
                Arguments.of("est:\n  rateLimit: {perClientPerSec: 5}",
                        "2: est.rateLimit.perClientPerSec: unknown key; valid keys here: [maxTrackedClients, perClientBurst, perClientPerSecond]"),
                Arguments.of("hsm:\n  replicas:\n    - {tokenLable: fleet-2}",
                        "3: hsm.replicas[0].tokenLable: unknown key; valid keys here: " + REPLICA_KEYS),
                Arguments.of("hsm:\n  keys:\n    iot: {keyLable: iot-rsa}",
                        "3: hsm.keys.iot.keyLable: unknown key; valid keys here: " + HSM_KEYS.replace("keys, ", "")),
                Arguments.of("est: {port: 8443}\nadmin: {port: 9443}\nest: {maxInFlight: 3}",
                        "3: est: given twice (first at line 1); the second would silently replace the first"),
                Arguments.of("est:\n  maxInFlight: 3\n  maxInFlight: 300",
                        "3: est.maxInFlight: given twice (first at line 2); the second would silently replace the first"),
                Arguments.of("ca:\n  validityDays: -1",
                        "2: ca.validityDays: expected a whole number of at least 1, got -1"),
                Arguments.of("est:\n  serverNames: []",
                        "2: est.serverNames: expected at least one name (the SANs of the TLS server certificate Enrolees check)"),
                Arguments.of("est:\n  port: 8443\npublication:\n  port: 8443",
                        "4: publication.port: 8443 is also est.port; each listener needs its own port (or 0 for a free one)"),
                // The EST port is the default here: defaults take part in the check as well.
                Arguments.of("admin:\n  port: 8443",
                        "2: admin.port: 8443 is also est.port; each listener needs its own port (or 0 for a free one)"),
                Arguments.of("est:\n  rateLimit:\n    perClientBurst: 0",
                        "3: est.rateLimit.perClientBurst: expected a whole number of at least 1, got 0"),
                Arguments.of("publication:\n  crlValidityHours: 1\n  crlRefreshMinutes: 60",
                        "3: publication.crlRefreshMinutes: must be shorter than crlValidityHours (1 h), "
                                + "or relying parties hold an expired CRL before the next one"),
                Arguments.of("store:\n  poolSize: 0",
                        "2: store.poolSize: expected a whole number of at least 1, got 0"),
                Arguments.of("scep:\n  maxInflight: 3",
                        "2: scep.maxInflight: unknown key; valid keys here: [enabled, legacyAlgorithms, listeners, maxClockSkewSeconds, "
                                + "maxInFlight, path, rateLimit]"),
                Arguments.of("scep:\n  listeners: [publication, https]",
                        "2: scep.listeners: expected publication (plain HTTP) and/or est (HTTPS), got 'https'"),
                Arguments.of("scep:\n  listeners: []",
                        "2: scep.listeners: expected publication and/or est; to serve no SCEP, set enabled: false"),
                Arguments.of("scep:\n  path: scep",
                        "2: scep.path: expected an absolute path of plain segments such as /scep or /cgi-bin/pkiclient.exe, got 'scep'"),
                Arguments.of("scep:\n  enabled: yes please",
                        "2: scep.enabled: expected true or false, got 'yes please'"),
                Arguments.of("scep:\n  maxInFlight: 0",
                        "2: scep.maxInFlight: expected a whole number of at least 1, got 0"));
    }

    @ParameterizedTest
    @MethodSource("refused")
    void refusedWithFileLineKeyAndWhatIsValid(String yaml, String expected, @TempDir Path dir) throws Exception {
        Path file = write(dir, yaml);

        ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(file));

        assertEquals(file + ":" + expected, e.getMessage());
    }

    @Test
    void listenersOnFreePortsMayAllSayZero(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "est: {port: 0}\nadmin: {port: 0}\npublication: {port: 0}"));

        assertEquals(0, c.est().port());
        assertEquals(0, c.publication().port());
    }

    @Test
    void anEmptyValueIsTheDefault(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "store:\n  jdbcUrl:\nest:\n  port: 8443"));

        assertEquals(java.util.Optional.empty(), c.store().jdbcUrl());
    }

    private static Path write(Path dir, String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "mefgate", ".yaml");
        Files.writeString(f, yaml + "\n");
        return f;
    }
}
