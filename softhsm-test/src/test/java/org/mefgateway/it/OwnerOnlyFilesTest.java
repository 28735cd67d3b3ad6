package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Gateway;

/**
 * The data directory holds the ledger, the audit log, bootstrap fingerprints and held CSRs (the
 * H2 database), the TLS and operator keys: no other local user may read any of it. This JVM runs
 * with the usual umask 022 (files 0644, directories 0755 unless the gateway says otherwise), as a
 * gateway started without the ops scripts would; after {@code init} and a start every directory
 * under the data directory is 0700 and every file 0600, the H2 database included (before: the
 * database, the CA certificate and the ports file were 0644, every directory 0755), a directory
 * loosened while the gateway was stopped is restricted again at the next start, and an export
 * written by {@code mefgate admin list-certs --out} is 0600.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OwnerOnlyFilesTest {
    static TestGateway mef;
    /** Set by the restart test, which stops this class's gateway itself. */
    static boolean stopped;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        mef = TestGateway.start(DeviceMaker.create("Owner-only Maker CA"));
    }

    @AfterAll
    static void stop() {
        if (!stopped) {
            mef.close();
        }
    }

    /** Every path under {@code root} (itself included) whose mode is not 0700 (directory) or 0600 (file), with its mode. */
    static List<String> notOwnerOnly(Path root) throws IOException {
        List<String> loose = new ArrayList<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.toList()) {
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                if (!mode.equals(Files.isDirectory(p) ? "rwx------" : "rw-------")) {
                    loose.add(mode + " " + root.relativize(p));
                }
            }
        }
        return loose;
    }

    static long count(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            return paths.count();
        }
    }

    @Test
    @Order(1)
    void everyFileUnderTheDataDirectoryIsOwnerOnlyAfterInitAndStartTheDatabaseIncluded() throws Exception {
        Path database = mef.dataDir.resolve("db/mef.mv.db");
        assertTrue(Files.exists(database) || !mef.config.store().jdbcUrl().isEmpty(), "the H2 database is under the data directory");
        System.out.println("after init and start: " + count(mef.dataDir) + " paths under the data directory, not owner-only: "
                + notOwnerOnly(mef.dataDir));
        assertEquals(List.of(), notOwnerOnly(mef.dataDir));
    }

    @Test
    @Order(3)
    void whatWasLoosenedWhileStoppedIsOwnerOnlyAgainAfterTheNextStart() throws Exception {
        mef.gateway.close();
        stopped = true;
        try (Stream<Path> paths = Files.walk(mef.dataDir)) {
            for (Path p : paths.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Gateway restarted = Gateway.start(mef.config, mef.clock);
        try {
            assertEquals(List.of(), notOwnerOnly(mef.dataDir));
        } finally {
            restarted.close();
        }
    }

    /** An export is written by the CLI in its own process, whose umask (022) would make it 0644. */
    @Test
    @Order(2)
    void anExportWrittenWithOutIsOwnerOnly() throws Exception {
        Path export = dir.resolve("certificates.csv");
        Path jar = Path.of(System.getProperty("gateway.cli.jar", "../gateway/target/gateway-0.1.0-SNAPSHOT-cli.jar"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(),
                "--config", mef.configFile.toString(), "admin", "list-certs", "--format", "csv", "--out", export.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("list-certs.txt").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "list-certs finished");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve("list-certs.txt")));
        assertTrue(Files.readString(export).startsWith("serial,enroleeId,"), "the CSV export");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(export)));
    }
}
