package org.mefgateway.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A slow ledger, as a real database makes it slow: a trigger on issued_certificate holds every
 * insert until the test opens the gate (a row in mef_test_gate), like a disk that stalls. The
 * certificate is signed and the request waits in the ledger write. H2 runs the trigger in this JVM
 * (a Java trigger polling the gate table); PostgreSQL in PL/pgSQL (pg_sleep until the row is gone).
 */
final class LedgerGate implements AutoCloseable {
    /** Inserts waiting in the H2 trigger right now. */
    static final AtomicInteger WAITING_H2 = new AtomicInteger();

    private final TestGateway mef;
    private final boolean postgres;

    private LedgerGate(TestGateway mef, boolean postgres) {
        this.mef = mef;
        this.postgres = postgres;
    }

    /** Installs the trigger with the gate closed: every ledger insert from now on waits. */
    static LedgerGate closed(TestGateway mef) throws Exception {
        LedgerGate gate = new LedgerGate(mef, mef.config.store().jdbcUrl().isPresent());
        try (Connection db = gate.connect(); Statement s = db.createStatement()) {
            s.execute("CREATE TABLE " + (gate.postgres ? "" : "IF NOT EXISTS ") + "mef_test_gate (closed INT)");
            s.execute("INSERT INTO mef_test_gate VALUES (1)");
            if (gate.postgres) {
                s.execute("CREATE OR REPLACE FUNCTION mef_test_wait() RETURNS trigger AS $$ BEGIN "
                        + "WHILE EXISTS (SELECT 1 FROM mef_test_gate) LOOP PERFORM pg_sleep(0.02); END LOOP; RETURN NEW; END $$ "
                        + "LANGUAGE plpgsql");
                s.execute("CREATE TRIGGER mef_test_slow BEFORE INSERT ON issued_certificate FOR EACH ROW EXECUTE FUNCTION mef_test_wait()");
            } else {
                s.execute("CREATE TRIGGER IF NOT EXISTS mef_test_slow BEFORE INSERT ON issued_certificate FOR EACH ROW CALL '"
                        + Wait.class.getName() + "'");
            }
        }
        return gate;
    }

    /** Waits until an insert is held at the gate (the request has been signed and is in its ledger write). */
    void awaitWaiting() throws Exception {
        Instant deadline = Instant.now().plusSeconds(20);
        while (waiting() == 0) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("no ledger insert reached the gate within 20 s");
            }
            Thread.sleep(10);
        }
    }

    private int waiting() throws Exception {
        if (!postgres) {
            return WAITING_H2.get();
        }
        try (Connection db = connect(); Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    void open() throws Exception {
        try (Connection db = connect(); Statement s = db.createStatement()) {
            s.execute("DELETE FROM mef_test_gate");
        }
    }

    /**
     * Opens the gate, lets the inserts held at it through, and removes the trigger on PostgreSQL.
     * On H2 the trigger stays, the gate open (one empty-table read per insert): H2 fails an insert
     * firing a trigger that is being dropped (ConcurrentModificationException in Table.fireRow),
     * and a request of the test may reach its ledger insert just then.
     */
    @Override
    public void close() throws Exception {
        open();
        Instant deadline = Instant.now().plusSeconds(20);
        while (waiting() > 0 && Instant.now().isBefore(deadline)) {
            Thread.sleep(10);
        }
        if (!postgres) {
            return;
        }
        try (Connection db = connect(); Statement s = db.createStatement()) {
            s.execute("DROP TRIGGER mef_test_slow ON issued_certificate");
            s.execute("DROP TABLE mef_test_gate");
        }
    }

    private Connection connect() throws Exception {
        String url = mef.config.store().url(mef.config.dataDir());
        return postgres ? DriverManager.getConnection(url, mef.config.store().user(), mef.config.store().password())
                : DriverManager.getConnection(url, "sa", "");
    }

    /** H2's side: hold the insert while the gate table has a row. */
    public static final class Wait implements org.h2.api.Trigger {
        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws SQLException {
            WAITING_H2.incrementAndGet();
            try {
                Instant deadline = Instant.now().plusSeconds(60);
                while (Instant.now().isBefore(deadline)) {
                    try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM mef_test_gate")) {
                        rs.next();
                        if (rs.getInt(1) == 0) {
                            return;
                        }
                    }
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                WAITING_H2.decrementAndGet();
            }
        }
    }
}
