package org.mefgateway.gateway.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The JDBC steps every store operation repeats: take a pooled connection, prepare, bind the
 * parameters in order, map the rows, and turn an {@link SQLException} into a {@link StoreException}
 * that says what could not be done ({@link DuplicateException} for a broken uniqueness rule).
 *
 * <p>Parameters are bound by type: an {@link Instant} as a UTC timestamp to the microsecond, an
 * enum by its name (the value its column keeps), a byte array as binary, anything else (strings,
 * numbers, booleans, null) as itself.
 */
final class Jdbc {
    private static final int TRANSACTION_ATTEMPTS = 5;

    /** Makes one value of a result row. */
    interface Row<T> {
        T map(ResultSet rs) throws SQLException;
    }

    /** Work on one connection. */
    interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private final DataSource dataSource;

    Jdbc(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Every row {@code sql} selects, on a connection of its own. */
    <T> List<T> query(String what, String sql, Row<T> row, Object... params) {
        return withConnection(what, c -> query(c, sql, row, params));
    }

    /** The first row {@code sql} selects, if any. */
    <T> Optional<T> first(String what, String sql, Row<T> row, Object... params) {
        return withConnection(what, c -> first(c, sql, row, params));
    }

    /** Runs one statement in its own (auto-committed) transaction; returns the rows it changed. */
    int update(String what, String sql, Object... params) {
        return withConnection(what, c -> update(c, sql, params));
    }

    /** Runs {@code work} on a pooled connection in auto-commit mode. */
    <T> T withConnection(String what, Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw failure(what, e);
        }
    }

    /**
     * Runs {@code work} in one transaction, committed when it returns (work that refuses rolls back
     * before it returns), rolled back when it throws, and run again on a serialization failure
     * (distributed engines ask for that).
     */
    <T> T inTransaction(String what, Work<T> work) {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    T result = work.run(c);
                    c.commit();
                    return result;
                } catch (SQLException | RuntimeException e) {
                    c.rollback();
                    throw e;
                }
            } catch (SQLException e) {
                if (isSerializationFailure(e) && attempt < TRANSACTION_ATTEMPTS) {
                    continue;
                }
                throw failure(what, e);
            }
        }
    }

    static <T> List<T> query(Connection c, String sql, Row<T> row, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, params);
            List<T> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(row.map(rs));
                }
            }
            return out;
        }
    }

    static <T> Optional<T> first(Connection c, String sql, Row<T> row, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row.map(rs)) : Optional.empty();
            }
        }
    }

    static boolean exists(Connection c, String sql, Object... params) throws SQLException {
        return first(c, sql, rs -> true, params).isPresent();
    }

    static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, params);
            return ps.executeUpdate();
        }
    }

    static void bind(PreparedStatement ps, Object... params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            Object p = params[i];
            if (p instanceof Instant t) {
                ps.setObject(i + 1, timestamp(t));
            } else if (p instanceof Enum<?> e) {
                ps.setString(i + 1, e.name());
            } else if (p instanceof byte[] b) {
                ps.setBytes(i + 1, b);
            } else {
                ps.setObject(i + 1, p);
            }
        }
    }

    /** To the microsecond, as H2 and PostgreSQL store it, so that a time written can be compared again. */
    static OffsetDateTime timestamp(Instant instant) {
        return OffsetDateTime.ofInstant(instant.truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
    }

    static Instant instant(ResultSet rs, int column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }

    static Optional<Instant> optionalInstant(ResultSet rs, int column) throws SQLException {
        return Optional.ofNullable(rs.getObject(column, OffsetDateTime.class)).map(OffsetDateTime::toInstant);
    }

    /** SQLSTATE 40001 (serialization failure) or 40P01 (deadlock): the transaction may simply be run again. */
    static boolean isSerializationFailure(Exception e) {
        return e instanceof SQLException s && s.getSQLState() != null
                && (s.getSQLState().equals("40001") || s.getSQLState().equals("40P01"));
    }

    /** SQLSTATE class 23: an integrity constraint (here: uniqueness) would be broken. */
    static boolean isIntegrityViolation(SQLException e) {
        return e.getSQLState() != null && e.getSQLState().startsWith("23");
    }

    static StoreException failure(String what, SQLException e) {
        // A uniqueness race we lost.
        if (isIntegrityViolation(e)) {
            return new DuplicateException("cannot " + what + ": it would duplicate an existing entry");
        }
        return new StoreException("cannot " + what + ": " + e.getMessage(), e);
    }
}
