package org.mefgateway.gateway.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.flywaydb.core.Flyway;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.RegisteredEnrolee;

/**
 * The MEF's durable state behind one JDBC code path: the Enrolee registry, challenges and the
 * issued-certificate ledger. Schema changes are Flyway migrations. Every method blocks: callers run
 * it on the store's worker pool, never on an event loop.
 */
public final class Store implements AutoCloseable {
    private final HikariDataSource dataSource;

    private Store(HikariDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** The embedded default: an H2 database in file mode (single process) under the data directory. */
    public static Store openH2(Path databaseFile, int poolSize) {
        return open("jdbc:h2:file:" + databaseFile.toAbsolutePath() + ";DB_CLOSE_ON_EXIT=FALSE", "sa", "", poolSize);
    }

    static Store open(String jdbcUrl, String user, String password, int poolSize) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(poolSize);
        hc.setPoolName("mef-store");
        hc.setAutoCommit(true);
        HikariDataSource ds = new HikariDataSource(hc);
        try {
            Flyway.configure().dataSource(ds).load().migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new StoreException("cannot migrate the database schema: " + e.getMessage(), e);
        }
        return new Store(ds);
    }

    // --- Enrolee registry ---------------------------------------------------------------------

    public void registerEnrolee(StoredEnrolee e) {
        String sql = "INSERT INTO enrolee (id, bootstrap_fingerprint, cert_subject_type, cert_subject_id, suids, command, registered_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?)";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            if (exists(c, "SELECT 1 FROM enrolee WHERE id = ?", e.enrolee().id())) {
                throw new DuplicateException("an Enrolee with id '" + e.enrolee().id() + "' is already registered");
            }
            if (exists(c, "SELECT 1 FROM enrolee WHERE bootstrap_fingerprint = ?", e.bootstrapFingerprint())) {
                throw new DuplicateException("this bootstrap certificate is already registered for another Enrolee");
            }
            ps.setString(1, e.enrolee().id());
            ps.setString(2, e.bootstrapFingerprint());
            ps.setInt(3, e.enrolee().type().code());
            ps.setString(4, e.enrolee().certSubjectId());
            ps.setString(5, new TreeSet<>(e.enrolee().suids()).stream().map(String::valueOf).collect(Collectors.joining(",")));
            ps.setString(6, e.command().name());
            ps.setObject(7, timestamp(e.registeredAt()));
            ps.executeUpdate();
        } catch (SQLException ex) {
            throw failure("register Enrolee " + e.enrolee().id(), ex);
        }
    }

    public Optional<StoredEnrolee> enroleeByFingerprint(String fingerprint) {
        List<StoredEnrolee> found = enrolees("WHERE bootstrap_fingerprint = ?", fingerprint);
        return found.stream().findFirst();
    }

    public List<StoredEnrolee> enrolees() {
        return enrolees("ORDER BY id");
    }

    private List<StoredEnrolee> enrolees(String where, String... params) {
        String sql = "SELECT id, bootstrap_fingerprint, cert_subject_type, cert_subject_id, suids, command, registered_at FROM enrolee " + where;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            List<StoredEnrolee> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Set<Integer> suids = rs.getString(5).isEmpty() ? Set.of()
                            : Arrays.stream(rs.getString(5).split(",")).map(Integer::valueOf).collect(Collectors.toSet());
                    RegisteredEnrolee enrolee = new RegisteredEnrolee(rs.getString(1),
                            CertSubjectType.fromCode(rs.getInt(3)), rs.getString(4), suids);
                    out.add(new StoredEnrolee(enrolee, rs.getString(2), StoredEnrolee.Command.valueOf(rs.getString(6)),
                            instant(rs, 7)));
                }
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read Enrolees", ex);
        }
    }

    // --- Challenges --------------------------------------------------------------------------

    public void saveChallenge(String hash, String enroleeId, Instant issuedAt, Instant expiresAt) {
        String sql = "INSERT INTO challenge (hash, enrolee_id, issued_at, expires_at) VALUES (?, ?, ?, ?)";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, hash);
            ps.setString(2, enroleeId);
            ps.setObject(3, timestamp(issuedAt));
            ps.setObject(4, timestamp(expiresAt));
            ps.executeUpdate();
        } catch (SQLException ex) {
            throw failure("save a challenge", ex);
        }
    }

    public Optional<IssuedChallenge> challenge(String hash) {
        String sql = "SELECT enrolee_id, expires_at, used_at FROM challenge WHERE hash = ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, hash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new IssuedChallenge(rs.getString(1), instant(rs, 2), rs.getObject(3) != null));
            }
        } catch (SQLException ex) {
            throw failure("read a challenge", ex);
        }
    }

    /** What {@link #beginIssuance} found. */
    public enum Claim { CLAIMED, CHALLENGE_NOT_USABLE, NO_PENDING_COMMAND }

    /**
     * Claims one issuance, atomically: marks the challenge used and the Enrolee's CERT_PROV
     * command done, in one transaction, only while the challenge is unused, unexpired and issued
     * to this Enrolee and the command is still pending. Of two CSRs racing, with one challenge or
     * with two, exactly one gets a certificate per instruction. {@code challengeHash} is null
     * when the profile requires no challenge and the CSR has none: only the command is claimed.
     */
    public Claim beginIssuance(String challengeHash, String enroleeId, Instant now) {
        String useChallenge = "UPDATE challenge SET used_at = ? WHERE hash = ? AND enrolee_id = ? AND used_at IS NULL AND expires_at > ?";
        String takeCommand = "UPDATE enrolee SET command = ? WHERE id = ? AND command = ?";
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement challenge = c.prepareStatement(useChallenge); PreparedStatement command = c.prepareStatement(takeCommand)) {
                if (challengeHash != null) {
                    challenge.setObject(1, timestamp(now));
                    challenge.setString(2, challengeHash);
                    challenge.setString(3, enroleeId);
                    challenge.setObject(4, timestamp(now));
                    if (challenge.executeUpdate() != 1) {
                        c.rollback();
                        return Claim.CHALLENGE_NOT_USABLE;
                    }
                }
                command.setString(1, StoredEnrolee.Command.NO_MORE_COMMANDS.name());
                command.setString(2, enroleeId);
                command.setString(3, StoredEnrolee.Command.CERT_PROV.name());
                if (command.executeUpdate() != 1) {
                    c.rollback();
                    return Claim.NO_PENDING_COMMAND;
                }
                c.commit();
                return Claim.CLAIMED;
            } catch (SQLException | RuntimeException ex) {
                c.rollback();
                throw ex;
            }
        } catch (SQLException ex) {
            throw failure("claim an issuance for " + enroleeId, ex);
        }
    }

    /**
     * Undoes {@link #beginIssuance} when nothing was issued (the HSM or the store failed): the
     * challenge is usable again and the command pending, so the client's retry of the same
     * request can succeed (RFC 7030 4.2.3).
     */
    public void abandonIssuance(String challengeHash, String enroleeId) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement challenge = c.prepareStatement("UPDATE challenge SET used_at = NULL WHERE hash = ? AND enrolee_id = ?");
                 PreparedStatement command = c.prepareStatement("UPDATE enrolee SET command = ? WHERE id = ?")) {
                if (challengeHash != null) {
                    challenge.setString(1, challengeHash);
                    challenge.setString(2, enroleeId);
                    challenge.executeUpdate();
                }
                command.setString(1, StoredEnrolee.Command.CERT_PROV.name());
                command.setString(2, enroleeId);
                command.executeUpdate();
                c.commit();
            } catch (SQLException | RuntimeException ex) {
                c.rollback();
                throw ex;
            }
        } catch (SQLException ex) {
            throw failure("release the issuance claim of " + enroleeId, ex);
        }
    }

    // --- Issued-certificate ledger -----------------------------------------------------------

    /**
     * Records an issued certificate. Returns only once it is committed: the caller may then hand
     * the certificate out.
     */
    public void recordIssuance(IssuedCertificate cert) {
        String insert = "INSERT INTO issued_certificate (serial, enrolee_id, profile, subject, sans, not_before, not_after, status, issued_at, der) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(insert)) {
                ps.setString(1, cert.serialHex());
                ps.setString(2, cert.enroleeId());
                ps.setString(3, cert.profile());
                ps.setString(4, cert.subject());
                ps.setString(5, cert.subjectAltNames());
                ps.setObject(6, timestamp(cert.notBefore()));
                ps.setObject(7, timestamp(cert.notAfter()));
                ps.setString(8, cert.status());
                ps.setObject(9, timestamp(cert.issuedAt()));
                ps.setBytes(10, cert.der());
                ps.executeUpdate();
                c.commit();
            } catch (SQLException | RuntimeException ex) {
                c.rollback();
                throw ex;
            }
        } catch (SQLException ex) {
            throw failure("record certificate " + cert.serialHex(), ex);
        }
    }

    /** How many certificates this Enrolee was issued after {@code since}: the input of per-Enrolee rate limits. */
    public int issuedSince(String enroleeId, Instant since) {
        String sql = "SELECT COUNT(*) FROM issued_certificate WHERE enrolee_id = ? AND issued_at > ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, enroleeId);
            ps.setObject(2, timestamp(since));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException ex) {
            throw failure("count the certificates of " + enroleeId, ex);
        }
    }

    public List<IssuedCertificate> certificates() {
        String sql = "SELECT serial, enrolee_id, profile, subject, sans, not_before, not_after, status, issued_at, der "
                + "FROM issued_certificate ORDER BY issued_at, serial";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
             ResultSet rs = ps.executeQuery()) {
            List<IssuedCertificate> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new IssuedCertificate(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), instant(rs, 6), instant(rs, 7), rs.getString(8), instant(rs, 9), rs.getBytes(10)));
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read certificates", ex);
        }
    }

    /** A cheap round trip for readiness checks. */
    public void ping() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("SELECT 1");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
        } catch (SQLException ex) {
            throw failure("reach the database", ex);
        }
    }

    @Override
    public void close() {
        dataSource.close();
    }

    private static boolean exists(Connection c, String sql, String param) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static OffsetDateTime timestamp(Instant instant) {
        return OffsetDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }

    private static StoreException failure(String what, SQLException e) {
        // SQL state class 23 is an integrity constraint violation: a uniqueness race we lost.
        if (e.getSQLState() != null && e.getSQLState().startsWith("23")) {
            return new DuplicateException("cannot " + what + ": it would duplicate an existing entry");
        }
        return new StoreException("cannot " + what + ": " + e.getMessage(), e);
    }
}
