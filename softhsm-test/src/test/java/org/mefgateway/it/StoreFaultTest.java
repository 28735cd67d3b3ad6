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

    /**
     * A real database refusing the ledger insert at exactly the moment that matters (after the
     * claim and the HSM signature): a trigger on issued_certificate that fails as PostgreSQL fails
     * on a full disk (SQLSTATE 53100). H2 by default, PostgreSQL with -Dmef.test.store=postgresql.
     */
    @Test
    void ledgerThatCannotRecordMeans503NoCertificateAndTheRetryIsIssued() throws Exception {
        DeviceMaker maker = DeviceMaker.create("Store Fault Maker CA");
        DeviceMaker.Device device = maker.device("fault-device-1");
        try (TestGateway mef = TestGateway.start(maker)) {
            mef.register(device, "ae-fault-1", "AE-ID", AE_ID, 40);
            HttpClient client = mef.client(device);
            String csr = csr(challenge(mef, client));
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

    static String challenge(TestGateway mef, HttpClient client) throws Exception {
        HttpResponse<String> r = TestGateway.get(client, mef.est("/csrattrs"));
        assertEquals(200, r.statusCode(), r.body());
        return TestCsr.challengeFrom(r.body());
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
                s.execute("CREATE FUNCTION mef_fault_refuse() RETURNS trigger AS $$ BEGIN "
                        + "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$ LANGUAGE plpgsql");
                s.execute("CREATE TRIGGER mef_fault_ledger BEFORE INSERT ON issued_certificate FOR EACH ROW EXECUTE FUNCTION mef_fault_refuse()");
            } else {
                s.execute("CREATE TRIGGER mef_fault_ledger BEFORE INSERT ON issued_certificate FOR EACH ROW CALL '"
                        + LedgerRefuses.class.getName() + "'");
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
