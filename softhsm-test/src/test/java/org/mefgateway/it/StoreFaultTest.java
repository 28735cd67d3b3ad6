package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.policy.Oids;

/**
 * The store fails while the gateway issues: the certificate is signed, but the ledger cannot
 * record it. The gateway's promise is that a certificate not in the ledger never leaves it, so
 * the client gets 503 with Retry-After and no certificate; the claim on its challenge and command
 * is released, so the same request succeeds once the store is back (RFC 7030 4.2.3: the client
 * repeats the request). Whether the HSM signed in between does not matter. (A full disk:
 * {@link DiskFullTest}; a restart during a burst: {@link GracefulRestartTest} and CrashTest.)
 */
class StoreFaultTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/fault-1";
    /** One gateway for the class: SoftHSM is loaded once per JVM, with the token of the first gateway. */
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Store Fault Maker CA");
        mef = TestGateway.start(maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /**
     * A real database refusing the ledger insert at exactly the moment that matters (after the
     * claim and the HSM signature): a trigger on issued_certificate that fails as PostgreSQL fails
     * on a full disk (SQLSTATE 53100). H2 by default, PostgreSQL with -Dmef.test.store=postgresql.
     */
    @Test
    void ledgerThatCannotRecordMeans503NoCertificateAndTheRetryIsIssued() throws Exception {
        DeviceMaker.Device device = maker.device("fault-device-1");
        mef.register(device, "ae-fault-1", "AE-ID", AE_ID, 40);
        HttpClient client = mef.client(device);
        String csr = csr(mef.challenge(client, ""));
        int before = mef.issued().size();

        try (Connection db = connect(mef)) {
            refuseLedgerInserts(db, TestDatabase.fromSystemProperty().isPostgres());
            HttpResponse<String> refused = enrol(mef, client, csr);
            assertUnavailable(refused);
            assertEquals(before, mef.issued().size(), "nothing entered the ledger");
            try (Statement s = db.createStatement()) {
                s.execute("DROP TRIGGER mef_fault_ledger" + (TestDatabase.fromSystemProperty().isPostgres() ? " ON issued_certificate" : ""));
            }
        }

        // The store is back: the very same request (same challenge) is issued, once.
        HttpResponse<String> issued = enrol(mef, client, csr);
        assertEquals(200, issued.statusCode(), issued.body());
        assertInLedger(mef, issued);
        assertEquals(before + 1, mef.issued().size());
        assertTrue(mef.gateway.store().verifyAuditChain().intact(), "audit chain intact after the failure");
    }

    /**
     * The store refuses the ledger insert and then the release of the claim too (the command
     * cannot be set back to CERT_PROV): the client gets 503 and, while the store still fails, its
     * retry is refused and nothing is issued; once the store is back the gateway gives the claim
     * back by itself, and the same request is issued, without an operator re-instructing.
     */
    @Test
    void aClaimTheStoreCannotGiveBackAtOnceIsGivenBackOnceItCanAndTheRetryIsIssued() throws Exception {
        DeviceMaker.Device device = maker.device("fault-device-2");
        boolean postgres = TestDatabase.fromSystemProperty().isPostgres();
        mef.register(device, "ae-fault-2", "AE-ID", AE_ID, 40);
        HttpClient client = mef.client(device);
        String csr = csr(mef.challenge(client, ""));
        int before = mef.issued().size();

        try (Connection db = connect(mef)) {
            refuseLedgerInserts(db, postgres);
            refuseCommandRestore(db, postgres);
            assertUnavailable(enrol(mef, client, csr));
            HttpResponse<String> meanwhile = enrol(mef, client, csr);
            assertEquals(403, meanwhile.statusCode(), "the claim is still held while the store fails: " + meanwhile.body());
            assertEquals(before, mef.issued().size(), "nothing entered the ledger");
            try (Statement s = db.createStatement()) {
                s.execute("DROP TRIGGER mef_fault_ledger" + (postgres ? " ON issued_certificate" : ""));
                s.execute("DROP TRIGGER mef_fault_restore" + (postgres ? " ON enrolee" : ""));
            }
        }

        HttpResponse<String> issued = enrol(mef, client, csr);
        for (int i = 0; i < 120 && issued.statusCode() == 403; i++) {
            Thread.sleep(500);
            issued = enrol(mef, client, csr);
        }
        assertEquals(200, issued.statusCode(), "the claim was given back once the store could take it: " + issued.body());
        assertInLedger(mef, issued);
        assertEquals(before + 1, mef.issued().size());
    }

    static void assertUnavailable(HttpResponse<String> r) {
        assertEquals(503, r.statusCode(), "store failure: " + r.body());
        assertTrue(r.headers().firstValue("Retry-After").isPresent(), "503 carries Retry-After");
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), "a reason, not a certificate");
    }

    /** The certificate the client got is in the ledger, byte for byte. */
    static void assertInLedger(TestGateway mef, HttpResponse<String> issued) throws Exception {
        byte[] der = new CMSSignedData(Base64.getMimeDecoder().decode(issued.body())).getCertificates().getMatches(null)
                .iterator().next().getEncoded();
        List<IssuedCertificate> ledger = mef.issued();
        assertTrue(ledger.stream().anyMatch(c -> java.util.Arrays.equals(c.der(), der)), "the returned certificate is in the ledger");
    }

    static String csr(String challenge) throws Exception {
        return TestCsr.p256().challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40").base64();
    }

    static HttpResponse<String> enrol(TestGateway mef, HttpClient client, String csr) throws Exception {
        return TestGateway.post(client, mef.est("/simpleenroll"), "application/pkcs10", csr);
    }

    /** A second connection to the gateway's own database (H2 in this JVM shares the open database). */
    private static Connection connect(TestGateway mef) throws Exception {
        String url = mef.config.store().url(mef.config.dataDir());
        return url.startsWith("jdbc:h2:") ? DriverManager.getConnection(url, "sa", "")
                : DriverManager.getConnection(url, mef.config.store().user(), mef.config.store().password());
    }

    private static void refuseLedgerInserts(Connection db, boolean postgres) throws SQLException {
        try (Statement s = db.createStatement()) {
            if (postgres) {
                s.execute("CREATE OR REPLACE FUNCTION mef_fault_refuse() RETURNS trigger AS $$ BEGIN "
                        + "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$ LANGUAGE plpgsql");
                s.execute("CREATE TRIGGER mef_fault_ledger BEFORE INSERT ON issued_certificate FOR EACH ROW EXECUTE FUNCTION mef_fault_refuse()");
            } else {
                s.execute("CREATE TRIGGER mef_fault_ledger BEFORE INSERT ON issued_certificate FOR EACH ROW CALL '"
                        + LedgerRefuses.class.getName() + "'");
            }
        }
    }

    /** Setting an Enrolee's command back to CERT_PROV (what releasing a claim does) fails as on a full disk. */
    private static void refuseCommandRestore(Connection db, boolean postgres) throws SQLException {
        try (Statement s = db.createStatement()) {
            if (postgres) {
                s.execute("CREATE OR REPLACE FUNCTION mef_fault_refuse_restore() RETURNS trigger AS $$ BEGIN IF NEW.command = 'CERT_PROV' THEN "
                        + "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END IF; RETURN NEW; END $$ "
                        + "LANGUAGE plpgsql");
                s.execute("CREATE TRIGGER mef_fault_restore BEFORE UPDATE ON enrolee FOR EACH ROW EXECUTE FUNCTION mef_fault_refuse_restore()");
            } else {
                s.execute("CREATE TRIGGER mef_fault_restore BEFORE UPDATE ON enrolee FOR EACH ROW CALL '"
                        + CommandRestoreRefuses.class.getName() + "'");
            }
        }
    }

    /** H2's side of {@link #refuseCommandRestore}. */
    public static final class CommandRestoreRefuses implements org.h2.api.Trigger {
        private int command;

        @Override
        public void init(Connection conn, String schema, String trigger, String table, boolean before, int type) throws SQLException {
            try (java.sql.ResultSet columns = conn.getMetaData().getColumns(null, schema, table, "COMMAND")) {
                if (!columns.next()) {
                    throw new SQLException("no column COMMAND in " + table);
                }
                command = columns.getInt("ORDINAL_POSITION") - 1;
            }
        }

        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws SQLException {
            if ("CERT_PROV".equals(newRow[command])) {
                throw new SQLException("No space left on device (injected by StoreFaultTest)", "53100");
            }
        }
    }

    /** H2's side of the fault: every insert into the ledger fails as a full disk would make it fail. */
    public static final class LedgerRefuses implements org.h2.api.Trigger {
        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws SQLException {
            throw new SQLException("No space left on device (injected by StoreFaultTest)", "53100");
        }
    }
}
