package org.mefgateway.gateway.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** The little that differs between the embedded H2 database and PostgreSQL. */
enum Dialect {
    /**
     * H2's MVStore writes committed changes to its file from a background thread up to a second
     * later; a process killed in between loses them. CHECKPOINT SYNC writes and fsyncs now, once
     * per group commit.
     */
    H2 {
        @Override
        void makeDurable(Connection c) throws SQLException {
            try (Statement s = c.createStatement()) {
                s.execute("CHECKPOINT SYNC");
            }
        }

        /**
         * When a write to its file fails (a full disk), H2 closes the whole database (90098,
         * after a general error 50000 carrying the I/O failure); its connections never work again,
         * while a new connection reopens the file.
         */
        @Override
        boolean connectionIsDead(SQLException e) {
            return e.getErrorCode() == 90098 || e.getErrorCode() == 50000;
        }

        /** File mode is single-process: nothing but this gateway writes to it. */
        @Override
        boolean soleWriter() {
            return true;
        }
    },
    /** PostgreSQL's commit returns once the WAL is flushed (synchronous_commit = on, the default). */
    POSTGRESQL {
        @Override
        void makeDurable(Connection c) {
        }
    };

    abstract void makeDurable(Connection c) throws SQLException;

    /** Whether the connection that threw {@code e} must be discarded (the pool already drops SQLSTATE 08 and 57P01). */
    boolean connectionIsDead(SQLException e) {
        return false;
    }

    /** Whether this process is the database's only writer (several gateways may share a PostgreSQL). */
    boolean soleWriter() {
        return false;
    }

    static Dialect of(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:h2:")) {
            return H2;
        }
        if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        throw new StoreException("unsupported database URL '" + jdbcUrl + "': use jdbc:h2:file:... or jdbc:postgresql://...");
    }
}
