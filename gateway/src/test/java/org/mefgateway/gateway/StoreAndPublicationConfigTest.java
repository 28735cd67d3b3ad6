package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store and publication sections of the configuration: defaults, PostgreSQL secrets, URLs. */
class StoreAndPublicationConfigTest {

    @Test
    void shippedConfigurationUsesTheEmbeddedDatabaseAndPublishesOnPort8080() throws Exception {
        GatewayConfig c = GatewayConfig.load(Path.of("../ops/config/mefgate.yaml"));

        assertEquals(Optional.empty(), c.store().jdbcUrl());
        assertTrue(c.store().url(c.dataDir()).startsWith("jdbc:h2:file:" + Path.of("var/db/mef").toAbsolutePath()), c.store().url(c.dataDir()));
        assertEquals("", c.store().password());
        assertEquals("http://127.0.0.1:8080/crl/ca.crl", c.publication().crlUrl());
        assertEquals("http://127.0.0.1:8080/ocsp", c.publication().ocspUrl());
        assertEquals(Duration.ofHours(24), c.publication().crlValidity());
        assertEquals(Duration.ofMinutes(60), c.publication().crlRefresh());
    }

    @Test
    void postgresPasswordComesFromMefDbPasswordByDefault(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "store: {jdbcUrl: 'jdbc:postgresql://db:5432/mef'}"));

        assertEquals(Optional.of("MEF_DB_PASSWORD"), c.store().passwordEnv());
        assertEquals("mef", c.store().user());
    }

    /**
     * The variable's absence is shown on a variable named for this run alone, so the test means
     * the same whether or not MEF_DB_PASSWORD happens to be set where it runs: the default above
     * only fills in passwordEnv, and password() reads whichever variable passwordEnv names.
     */
    @Test
    void anUnsetPasswordVariableIsNamed(@TempDir Path dir) throws Exception {
        String unset = "MEF_TEST_UNSET_" + UUID.randomUUID().toString().replace("-", "").toUpperCase(Locale.ROOT);
        assertNull(System.getenv(unset));
        GatewayConfig c = GatewayConfig.load(write(dir, "store: {jdbcUrl: 'jdbc:postgresql://db:5432/mef', passwordEnv: " + unset + "}"));

        ConfigException e = assertThrows(ConfigException.class, () -> c.store().password());
        assertEquals("store: the environment variable " + unset + " (the database password) is not set", e.getMessage());
    }

    @Test
    void aPasswordFileOthersCanReadIsRefused(@TempDir Path dir) throws Exception {
        Path pass = dir.resolve("db.pass");
        Files.createFile(pass, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        Files.writeString(pass, "s3cret");
        GatewayConfig c = GatewayConfig.load(write(dir, "store: {jdbcUrl: 'jdbc:postgresql://db/mef', passwordFile: " + pass + "}"));

        ConfigException e = assertThrows(ConfigException.class, () -> c.store().password());
        assertTrue(e.getMessage().contains("readable by others"), e.getMessage());

        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-------"));
        assertEquals("s3cret", c.store().password());
    }

    @Test
    void anUnsupportedDatabaseUrlIsRefusedWithoutEchoingItsParameters(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> GatewayConfig.load(write(dir, "store: {jdbcUrl: 'jdbc:mysql://db/mef?password=hunter2'}")));
        assertTrue(e.getMessage().contains("store.jdbcUrl"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
    }

    @Test
    void thePublicBaseUrlMakesTheCrlAndOcspUrls(@TempDir Path dir) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(dir, "publication: {port: 0, baseUrl: 'http://pki.example.com/'}"));

        assertEquals("http://pki.example.com/crl/ca.crl", c.publication().crlUrl());
        assertEquals("http://pki.example.com/ocsp", c.publication().ocspUrl());
    }

    @Test
    void aCrlRefreshNotShorterThanItsValidityIsRefused(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> GatewayConfig.load(write(dir, "publication: {crlValidityHours: 1, crlRefreshMinutes: 60}")));
        assertTrue(e.getMessage().contains("crlRefreshMinutes"), e.getMessage());
    }

    private static Path write(Path dir, String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "mefgate", ".yaml");
        Files.writeString(f, yaml + "\n");
        return f;
    }
}
