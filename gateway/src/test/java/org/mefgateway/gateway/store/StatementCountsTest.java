package org.mefgateway.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A statement is counted under its verb and table, so the label stays bounded whatever the SQL. */
class StatementCountsTest {
    @Test
    void aStatementIsNamedByItsVerbAndTable() {
        assertEquals("update challenge", StatementCounts.name("UPDATE challenge SET used_at = ? WHERE hash = ?"));
        assertEquals("insert audit_event", StatementCounts.name("INSERT INTO audit_event (seq, at) VALUES (?, ?)"));
        assertEquals("select issued_certificate", StatementCounts.name(
                "SELECT (SELECT COUNT(*) FROM issued_certificate WHERE enrolee_id = ?) + (SELECT COUNT(*) FROM issuance_reservation)"));
        assertEquals("delete issuance_reservation", StatementCounts.name("DELETE FROM issuance_reservation WHERE id = ?"));
        assertEquals("checkpoint", StatementCounts.name("CHECKPOINT SYNC"));
        assertEquals("select", StatementCounts.name("SELECT 1"));
    }
}
