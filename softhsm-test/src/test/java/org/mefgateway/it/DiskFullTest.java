package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.mefgateway.it.StoreFaultTest.assertInLedger;
import static org.mefgateway.it.StoreFaultTest.assertUnavailable;
import static org.mefgateway.it.StoreFaultTest.csr;
import static org.mefgateway.it.StoreFaultTest.enrol;

import io.vertx.core.json.JsonArray;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.admin.AdminClient;

/** The data directory's file system is full while an Enrolee enrols. */
class DiskFullTest {
    static final String AE_ID = StoreFaultTest.AE_ID;
    static final String SECOND_AE_ID = "//m2m.example.com/CSE3219/fault-2";

    private interface Request {
        HttpResponse<String> send() throws Exception;
    }

    /** Repeats a request answered 503 (as a client honouring Retry-After would), at most 10 times. */
    private static HttpResponse<String> untilServed(Request request) throws Exception {
        HttpResponse<String> r = request.send();
        for (int attempt = 1; attempt < 10 && r.statusCode() == 503; attempt++) {
            Thread.sleep(200);
            r = request.send();
        }
        return r;
    }

    /**
     * Disk full on the data directory: the embedded H2 database on a 6 MB tmpfs that the test
     * fills, and the free space inside H2's file used up, while an Enrolee holds a fresh challenge. The enrolment is refused with 503 (not 500,
     * not a certificate); once space is freed the gateway serves again without a restart (H2 closed
     * its database on the failed write; the pool drops those connections and reopens it): another
     * Enrolee enrols, and every certificate handed out is in the ledger.
     *
     * <p>The first Enrolee's request then gets exactly its certificate (200): nothing was issued,
     * so the claim on its challenge and command is given back (README, StoreFaultTest), by the
     * gateway's background release when the full disk refused that too, or by H2 itself, which
     * reopens its file as last synced, without the claim. The test waits for the command to be
     * pending again before it repeats the request. The challenge is made durable before the disk
     * fills (an audited operator request: its group commit syncs H2's file): H2 writes a plain
     * commit to its file up to a second later, so a challenge handed out just before the disk
     * filled would be lost with the closed database and the repeat refused by challenge.known
     * instead (seen: the test used to accept any 403).
     */
    @Test
    void fullDiskMeans503AndServiceReturnsWhenSpaceIsFreed(@TempDir Path dir) throws Exception {
        assumeTrue(!TestDatabase.fromSystemProperty().isPostgres(), "disk full is tested on the embedded H2 database");
        Path mount = Files.createDirectories(dir.resolve("tmpfs"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mount.toString()),
                "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): disk-full test skipped");
        try {
            DeviceMaker maker = DeviceMaker.create("Disk Full Maker CA");
            DeviceMaker.Device first = maker.device("disk-full-1");
            DeviceMaker.Device second = maker.device("disk-full-2");
            try (TestGateway mef = TestGateway.start(TestDatabase.h2At(mount.resolve("mef")), maker)) {
                mef.register(first, "ae-disk-full-1", "AE-ID", AE_ID, 40);
                mef.register(second, "ae-disk-full-2", "AE-ID", SECOND_AE_ID, 40);
                HttpClient firstClient = mef.client(first);
                HttpClient secondClient = mef.client(second);
                String firstCsr = csr(mef.challenge(firstClient, ""));
                assertEquals("CERT_PROV", command(mef, "ae-disk-full-1"), "instructed; and the challenge is synced to disk");
                int before = mef.issued().size();

                Path filler = mount.resolve("filler");
                fill(filler);
                useUpStoreFileSpace(mef);
                assertUnavailable(enrol(mef, firstClient, firstCsr));

                Files.delete(filler);
                // H2 closed its database when the write failed; the store reopens it. A client
                // told Retry-After repeats its request: a few 503s while the pool replaces its
                // connections are allowed, then the second Enrolee enrols.
                HttpResponse<String> attrs = untilServed(() -> TestGateway.get(secondClient, mef.est("/csrattrs")));
                assertEquals(200, attrs.statusCode(), "after space was freed: " + attrs.body());
                HttpResponse<String> issued = untilServed(() -> enrol(mef, secondClient,
                        TestCsr.p256().challenge(TestCsr.challengeFrom(attrs.body())).uri(SECOND_AE_ID)
                                .eku(org.mefgateway.policy.Oids.SUID_EKU_ARC + ".40").base64()));
                assertEquals(200, issued.statusCode(), "after space was freed: " + issued.body());
                assertInLedger(mef, issued);

                String pending = command(mef, "ae-disk-full-1");
                for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90); !pending.equals("CERT_PROV")
                        && System.nanoTime() < deadline; pending = command(mef, "ae-disk-full-1")) {
                    Thread.sleep(200);
                }
                assertEquals("CERT_PROV", pending, "the claim of the failed request is given back");
                HttpResponse<String> firstAgain = untilServed(() -> enrol(mef, firstClient, firstCsr));
                assertEquals(200, firstAgain.statusCode(), "the first Enrolee's repeated request: " + firstAgain.body());
                assertInLedger(mef, firstAgain);
                assertEquals(before + 2, mef.issued().size(), "the ledger holds exactly the certificates handed out");
                assertTrue(mef.gateway.store().verifyAuditChain().intact(), "audit chain intact after the full disk");
            }
        } finally {
            run("umount", "-l", mount.toString());
        }
    }

    /**
     * The Enrolee's command as the operator lists it. The listing is audited and answered once the
     * audit event is durable: on H2 its group commit syncs the database file, with every commit before it.
     */
    private static String command(TestGateway mef, String enroleeId) throws Exception {
        HttpResponse<String> r = new AdminClient(mef.config).get("/admin/enrolees");
        assertEquals(200, r.statusCode(), r.body());
        JsonArray enrolees = new JsonArray(r.body());
        for (int i = 0; i < enrolees.size(); i++) {
            if (enrolees.getJsonObject(i).getString("id").equals(enroleeId)) {
                return enrolees.getJsonObject(i).getString("command");
            }
        }
        throw new AssertionError("no Enrolee " + enroleeId + " in " + r.body());
    }

    /**
     * H2 reuses the free space inside its file (Store.H2_FILE_SIZE_SETTINGS: chunks reusable after
     * 1 s), so with the file system full a write fails only once no block of the file is free.
     * This writes through the gateway's own database (same JVM, same URL: the same H2 instance)
     * into a table of its own, 1 KB rows each synced, until H2 refuses; H2 then closes the
     * database, and reopening it may free the space of the chunk it could not finish, and chunks
     * left behind become free once their retention time has passed. So again, until a write is
     * refused at once after a reopen and more than the retention time after the last write that
     * fitted: no room is left for the gateway's writes either, as after a long enough run on a
     * full disk. (Seen in ops/test: refused once, the enrolment right after still fitted.)
     */
    private static void useUpStoreFileSpace(TestGateway mef) throws Exception {
        byte[] row = new byte[1024];
        new java.util.Random(1).nextBytes(row); // incompressible
        long settled = TimeUnit.MILLISECONDS.toNanos(1500); // RETENTION_TIME=1000 ms, and some
        long lastFitted = System.nanoTime();
        for (int round = 0; round < 40; round++) {
            int written = 0;
            try (java.sql.Connection db = java.sql.DriverManager.getConnection(mef.config.store().url(mef.config.dataDir()), "sa", "");
                 java.sql.Statement s = db.createStatement();
                 java.sql.PreparedStatement insert = db.prepareStatement(
                         "CREATE TABLE IF NOT EXISTS mef_test_filler (b VARBINARY(1024)); INSERT INTO mef_test_filler VALUES (?)")) {
                for (; written < 10_000; written++) { // 10 MB: more than the 6 MB file system holds
                    insert.setBytes(1, row);
                    insert.executeUpdate();
                    s.execute("CHECKPOINT SYNC");
                    lastFitted = System.nanoTime();
                }
                throw new AssertionError("H2 wrote 10 MB to a full 6 MB file system");
            } catch (java.sql.SQLException refused) {
                long sinceFitted = System.nanoTime() - lastFitted;
                if (written == 0 && sinceFitted > settled) {
                    return;
                }
                if (written == 0) {
                    // Polled, bounded by the round count: wait out the retention of the chunks just written.
                    TimeUnit.NANOSECONDS.sleep(settled - sinceFitted);
                }
            }
        }
        throw new AssertionError("H2 still found room after 40 reopenings of a full file system");
    }

    /** Writes until the file system refuses: ENOSPC. */
    private static void fill(Path filler) throws IOException {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(filler)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            assertTrue(String.valueOf(full.getMessage()).contains("No space left"), "filled up: " + full);
        }
        assertFalse(Files.getFileStore(filler).getUsableSpace() > block.length, "the data directory is full");
    }

    private static boolean run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
