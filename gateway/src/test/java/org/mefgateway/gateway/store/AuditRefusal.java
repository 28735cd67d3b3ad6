package org.mefgateway.gateway.store;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A database that refuses to insert audit events of one type: a real trigger on audit_event
 * raises an error, so the transaction that carries such an event fails as it would on a full disk.
 * Which change survives that failure tells whether the change and its event share one transaction.
 */
final class AuditRefusal {
    private final String url;
    private final String user;
    private final String password;

    private AuditRefusal(String url, String user, String password) {
        this.url = url;
        this.user = user;
        this.password = password;
    }

    /** From now on, inserting an audit event of {@code type} fails. */
    static AuditRefusal of(String type, String url, String user, String password) throws SQLException {
        AuditRefusal refusal = new AuditRefusal(url, user, password);
        try (Connection c = refusal.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE mef_test_refused_audit (type VARCHAR(64) NOT NULL)");
            if (url.startsWith("jdbc:postgresql:")) {
                s.execute("CREATE FUNCTION mef_test_refuse_audit() RETURNS trigger AS $$ BEGIN "
                        + "IF EXISTS (SELECT 1 FROM mef_test_refused_audit WHERE type = NEW.type) THEN "
                        + "RAISE EXCEPTION 'audit event % refused by the test', NEW.type; END IF; RETURN NEW; END $$ LANGUAGE plpgsql");
                s.execute("CREATE TRIGGER mef_test_refuse_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION mef_test_refuse_audit()");
            } else {
                s.execute("CREATE TRIGGER mef_test_refuse_audit BEFORE INSERT ON audit_event FOR EACH ROW CALL '" + H2.class.getName() + "'");
            }
        }
        try (Connection c = refusal.connect(); PreparedStatement ps = c.prepareStatement("INSERT INTO mef_test_refused_audit VALUES (?)")) {
            ps.setString(1, type);
            ps.executeUpdate();
        }
        return refusal;
    }

    /** Audit events of every type are inserted again. */
    void lift() throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.executeUpdate("DELETE FROM mef_test_refused_audit");
        }
    }

    private Connection connect() throws SQLException {
        return DriverManager.getConnection(url, user, password);
    }

    /** H2's side of the trigger: column 3 of audit_event is its type. */
    public static final class H2 implements org.h2.api.Trigger {
        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) throws SQLException {
            try (PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM mef_test_refused_audit WHERE type = ?")) {
                ps.setObject(1, newRow[2]);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new SQLException("audit event " + newRow[2] + " refused by the test");
                    }
                }
            }
        }
    }
}
