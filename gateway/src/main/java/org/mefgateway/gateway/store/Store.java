package org.mefgateway.gateway.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.SQLExceptionOverride;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.flywaydb.core.Flyway;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.RegisteredEnrolee;

/**
 * The MEF's durable state behind one JDBC code path, on H2 (embedded default) or PostgreSQL
 * (several nodes): the Enrolee registry, challenges, the issued-certificate ledger with its
 * revocations, CRLs and the hash-chained audit log. Schema changes are Flyway migrations.
 *
 * <p>Methods returning a value block: callers run them on the store's worker pool, never on an
 * event loop. Ledger and audit writes return a {@link CompletionStage} instead: they go through
 * {@link GroupCommit}, which commits many of them in one durable transaction.
 *
 * <p>The SQL is kept to what PostgreSQL-compatible distributed engines (CockroachDB, YugabyteDB)
 * accept: no sequences, no advisory locks, uniqueness by constraints, and transactions retried on
 * serialization failures (SQLSTATE 40001).
 */
public final class Store implements AutoCloseable {
    private static final int TRANSACTION_ATTEMPTS = 5;

    private final HikariDataSource dataSource;
    private final Dialect dialect;
    private final GroupCommit groupCommit;

    private Store(HikariDataSource dataSource, Dialect dialect, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.groupCommit = new GroupCommit(dataSource, dialect, meters);
    }

    /** The embedded default: an H2 database in file mode (single process) under the data directory. */
    public static Store openH2(Path databaseFile, int poolSize) {
        return open(h2Url(databaseFile), "sa", "", poolSize, new SimpleMeterRegistry());
    }

    /**
     * Keeps the H2 file proportional to its data while the gateway runs (README "Store file
     * size"). Every group commit ends in CHECKPOINT SYNC, so H2 writes one small chunk per batch
     * whose few live pages (new ledger rows) keep it from being freed; with H2's defaults such
     * chunks are only rewritten when the store is idle and stay reserved for 45 s, and the file
     * grew to 62 KB per certificate at 300 enrolments/s. Chunks may be reused after 1 s (each
     * commit is already fsynced; 0 is known to corrupt files, h2database#2752) and are compacted
     * while under load too (fill rate 100: compaction starts below 50 % live chunks under load).
     */
    public static final String H2_FILE_SIZE_SETTINGS = ";RETENTION_TIME=1000;AUTO_COMPACT_FILL_RATE=100";

    public static String h2Url(Path databaseFile) {
        return "jdbc:h2:file:" + databaseFile.toAbsolutePath() + ";DB_CLOSE_ON_EXIT=FALSE" + H2_FILE_SIZE_SETTINGS;
    }

    /**
     * Opens the database at {@code jdbcUrl} (jdbc:h2:file:... or jdbc:postgresql://...) and brings
     * its schema up to date. The password is never logged.
     */
    public static Store open(String jdbcUrl, String user, String password, int poolSize, MeterRegistry meters) {
        Dialect dialect = Dialect.of(jdbcUrl);
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setUsername(user);
        hc.setPassword(password);
        // +1: the group-commit writer holds one connection while the workers use the others.
        hc.setMaximumPoolSize(poolSize + 1);
        hc.setPoolName("mef-store");
        hc.setAutoCommit(true);
        // A connection to a database that closed itself (H2 after a full disk) is dropped, so the
        // store works again once the cause is gone instead of failing on every pooled connection.
        hc.setExceptionOverride(new SQLExceptionOverride() {
            @java.lang.Override
            public SQLExceptionOverride.Override adjudicate(SQLException e) {
                return dialect.connectionIsDead(e) ? SQLExceptionOverride.Override.MUST_EVICT
                        : SQLExceptionOverride.Override.CONTINUE_EVICT;
            }
        });
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(hc);
        } catch (RuntimeException e) {
            throw new StoreException("cannot connect to the database " + redacted(jdbcUrl) + ": " + e.getMessage(), e);
        }
        try {
            Flyway.configure().dataSource(ds).load().migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new StoreException("cannot migrate the database schema: " + e.getMessage(), e);
        }
        Store store = new Store(ds, dialect, meters);
        try {
            store.recordMissingIssuerKeys();
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    /**
     * Rows written before the ledger recorded the signing CA key (migration V5) get it from their
     * own DER. Rows that name no key of ours stay without one: no CRL or OCSP answer covers them.
     */
    private void recordMissingIssuerKeys() {
        transaction("record the CA key of earlier certificates", c -> {
            List<String[]> found = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT serial, der FROM issued_certificate WHERE issuer_key_id IS NULL");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String serial = rs.getString(1);
                    IssuerKeyId.ofCertificate(rs.getBytes(2)).ifPresent(id -> found.add(new String[] {serial, id}));
                }
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE issued_certificate SET issuer_key_id = ? WHERE serial = ?")) {
                for (String[] row : found) {
                    ps.setString(1, row[1]);
                    ps.setString(2, row[0]);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            c.commit();
            return null;
        });
    }

    /** A URL as it may be logged: without query parameters, which may carry credentials. */
    static String redacted(String jdbcUrl) {
        int q = jdbcUrl.indexOf('?');
        return q < 0 ? jdbcUrl : jdbcUrl.substring(0, q) + "?...";
    }

    // --- Enrolee registry ---------------------------------------------------------------------

    public void registerEnrolee(StoredEnrolee e) {
        String sql = "INSERT INTO enrolee (id, bootstrap_fingerprint, cert_subject_type, cert_subject_id, suids, command, registered_at, "
                + "profiles, instructed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
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
            ps.setString(8, String.join(",", e.profiles()));
            ps.setObject(9, timestamp(e.instructedAt()));
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

    public Optional<StoredEnrolee> enrolee(String id) {
        return enrolees("WHERE id = ?", id).stream().findFirst();
    }

    /**
     * The operator instructs the Enrolee (again): its command becomes CERT_PROV, so its bootstrap
     * certificate may obtain one more certificate; with {@code profiles}, those become the ones it
     * may use (the first is the one the command names). False when there is no such Enrolee.
     */
    public boolean instruct(String enroleeId, Optional<List<String>> profiles, Instant now) {
        String sql = "UPDATE enrolee SET command = ?, command_result = NULL, instructed_at = ?"
                + (profiles.isPresent() ? ", profiles = ?" : "") + " WHERE id = ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            int i = 1;
            ps.setString(i++, StoredEnrolee.Command.CERT_PROV.name());
            ps.setObject(i++, timestamp(now));
            if (profiles.isPresent()) {
                ps.setString(i++, String.join(",", profiles.get()));
            }
            ps.setString(i, enroleeId);
            return ps.executeUpdate() == 1;
        } catch (SQLException ex) {
            throw failure("instruct Enrolee " + enroleeId, ex);
        }
    }

    /** Removes the registration (its challenges and pending requests go with it; issued certificates stay in the ledger). */
    public boolean removeEnrolee(String enroleeId) {
        return update("DELETE FROM enrolee WHERE id = ?", enroleeId) == 1;
    }

    /** Records how the Enrolee's last CERT_PROV attempt ended. */
    public void recordCommandResult(String enroleeId, StoredEnrolee.CommandResult result) {
        update("UPDATE enrolee SET command_result = ? WHERE id = ?", result.name(), enroleeId);
    }

    private int update(String sql, String... params) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            return ps.executeUpdate();
        } catch (SQLException ex) {
            throw failure("update: " + sql.split(" ")[0].toLowerCase(java.util.Locale.ROOT), ex);
        }
    }

    private List<StoredEnrolee> enrolees(String where, String... params) {
        String sql = "SELECT id, bootstrap_fingerprint, cert_subject_type, cert_subject_id, suids, command, registered_at, "
                + "command_result, profiles, instructed_at FROM enrolee " + where;
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
                            instant(rs, 7), Optional.ofNullable(rs.getString(8)).map(StoredEnrolee.CommandResult::valueOf),
                            List.of(rs.getString(9).split(",")), instant(rs, 10)));
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
    public enum Claim { CLAIMED, CHALLENGE_NOT_USABLE, NO_PENDING_COMMAND, PENDING_LIMIT, ISSUANCE_LIMIT }

    /**
     * Claims one issuance, atomically: marks the challenge used and the Enrolee's CERT_PROV
     * command done, in one transaction, only while the challenge is unused, unexpired and issued
     * to this Enrolee and the command is still pending. Of two CSRs racing, with one challenge or
     * with two, exactly one gets a certificate per instruction. {@code challengeHash} is null
     * when the profile requires no challenge and the CSR has none: only the command is claimed.
     * A re-enrolment does not claim the command ({@code claimCommand} false): the certificate it
     * renews is its authority.
     */
    public Claim beginIssuance(String challengeHash, String enroleeId, boolean claimCommand, Instant now) {
        return beginIssuance(challengeHash, enroleeId, claimCommand, now, Optional.empty(), 0, Optional.empty());
    }

    /**
     * The same claim, and with {@code hold} the request held for approval in the same transaction:
     * the Enrolee's row is locked first, so of requests racing with different keys no more than
     * {@code maxPending} are ever waiting at once (PENDING_LIMIT for the others, nothing claimed).
     * With {@code reservation}, the claim takes a place under the Enrolee's issuance limit, also
     * with its row locked, so of N requests racing against a limit of L exactly L are claimed
     * (ISSUANCE_LIMIT for the others, nothing claimed); see {@link IssuanceReservation}.
     */
    public Claim beginIssuance(String challengeHash, String enroleeId, boolean claimCommand, Instant now,
                               Optional<HeldRequest> hold, int maxPending, Optional<IssuanceReservation> reservation) {
        String useChallenge = "UPDATE challenge SET used_at = ? WHERE hash = ? AND enrolee_id = ? AND used_at IS NULL AND expires_at > ?";
        String takeCommand = "UPDATE enrolee SET command = ? WHERE id = ? AND command = ?";
        return transaction("claim an issuance for " + enroleeId, c -> {
            if (hold.isPresent() || reservation.isPresent()) {
                lockEnrolee(c, enroleeId);
            }
            if (hold.isPresent() && pendingCount(c, enroleeId) >= maxPending) {
                c.rollback();
                return Claim.PENDING_LIMIT;
            }
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
                if (claimCommand) {
                    command.setString(1, StoredEnrolee.Command.NO_MORE_COMMANDS.name());
                    command.setString(2, enroleeId);
                    command.setString(3, StoredEnrolee.Command.CERT_PROV.name());
                    if (command.executeUpdate() != 1) {
                        c.rollback();
                        return Claim.NO_PENDING_COMMAND;
                    }
                }
                if (reservation.isPresent() && !reserve(c, enroleeId, reservation.get(), now)) {
                    c.rollback();
                    return Claim.ISSUANCE_LIMIT;
                }
                if (hold.isPresent()) {
                    insertHeld(c, hold.get());
                }
                c.commit();
                return Claim.CLAIMED;
            }
        });
    }

    /** Locks the Enrolee's row until the transaction ends: its claims that count something are decided one at a time. */
    private static void lockEnrolee(Connection c, String enroleeId) throws SQLException {
        try (PreparedStatement lock = c.prepareStatement("SELECT id FROM enrolee WHERE id = ? FOR UPDATE")) {
            lock.setString(1, enroleeId);
            lock.executeQuery().close();
        }
    }

    /** PENDING requests of the Enrolee (its row locked). */
    private static int pendingCount(Connection c, String enroleeId) throws SQLException {
        try (PreparedStatement count = c.prepareStatement("SELECT COUNT(*) FROM pending_request WHERE enrolee_id = ? AND status = ?")) {
            count.setString(1, enroleeId);
            count.setString(2, HeldRequest.Status.PENDING.name());
            try (ResultSet rs = count.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /**
     * Takes a place under the Enrolee's issuance limit (its row locked), unless the certificates
     * issued in the window and the places held there already make the limit. Places older than
     * the window (left by a process that died) no longer count and are dropped here.
     */
    private static boolean reserve(Connection c, String enroleeId, IssuanceReservation r, Instant now) throws SQLException {
        try (PreparedStatement stale = c.prepareStatement("DELETE FROM issuance_reservation WHERE enrolee_id = ? AND reserved_at <= ?")) {
            stale.setString(1, enroleeId);
            stale.setObject(2, timestamp(r.windowStart()));
            stale.executeUpdate();
        }
        // One statement, so one snapshot: a certificate whose record commits meanwhile (deleting
        // its place in the same transaction) is seen either as the place or as the certificate,
        // never as neither, which two statements could.
        String count = "SELECT (SELECT COUNT(*) FROM issued_certificate WHERE enrolee_id = ? AND issued_at > ?)"
                + " + (SELECT COUNT(*) FROM issuance_reservation WHERE enrolee_id = ? AND reserved_at > ?)";
        try (PreparedStatement ps = c.prepareStatement(count)) {
            ps.setString(1, enroleeId);
            ps.setObject(2, timestamp(r.windowStart()));
            ps.setString(3, enroleeId);
            ps.setObject(4, timestamp(r.windowStart()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getLong(1) >= r.limit()) {
                    return false;
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO issuance_reservation (id, enrolee_id, reserved_at) VALUES (?, ?, ?)")) {
            ps.setString(1, r.id());
            ps.setString(2, enroleeId);
            ps.setObject(3, timestamp(now));
            ps.executeUpdate();
        }
        return true;
    }

    /**
     * Undoes {@link #beginIssuance} made at {@code claimedAt} when nothing was issued (the HSM or
     * the store failed): the challenge is usable again and the command pending, so the client's
     * retry of the same request can succeed (RFC 7030 4.2.3). The command is not restored when the
     * Enrolee got a certificate since the claim (the operator instructed it again meanwhile and
     * that instruction is spent): a late release must not grant a certificate nobody instructed.
     * Nor is the challenge given back when a later claim spent it (the first claim was lost with
     * the database and the client's retry claimed it again): only the claim made at
     * {@code claimedAt} is undone.
     */
    public void abandonIssuance(String challengeHash, String enroleeId, boolean restoreCommand, Instant claimedAt) {
        abandonIssuance(challengeHash, enroleeId, restoreCommand, claimedAt, Optional.empty());
    }

    /** The same, and the claim's place under the issuance limit ({@link IssuanceReservation#id()}) is freed. */
    public void abandonIssuance(String challengeHash, String enroleeId, boolean restoreCommand, Instant claimedAt,
                                Optional<String> reservation) {
        String restore = "UPDATE enrolee SET command = ? WHERE id = ? AND NOT EXISTS "
                + "(SELECT 1 FROM issued_certificate WHERE enrolee_id = ? AND issued_at >= ?)";
        transaction("release the issuance claim of " + enroleeId, c -> {
            try (PreparedStatement challenge = c.prepareStatement(
                    "UPDATE challenge SET used_at = NULL WHERE hash = ? AND enrolee_id = ? AND used_at = ?");
                 PreparedStatement command = c.prepareStatement(restore)) {
                if (challengeHash != null) {
                    challenge.setString(1, challengeHash);
                    challenge.setString(2, enroleeId);
                    challenge.setObject(3, timestamp(claimedAt));
                    challenge.executeUpdate();
                }
                if (restoreCommand) {
                    command.setString(1, StoredEnrolee.Command.CERT_PROV.name());
                    command.setString(2, enroleeId);
                    command.setString(3, enroleeId);
                    command.setObject(4, timestamp(claimedAt));
                    command.executeUpdate();
                }
                if (reservation.isPresent()) {
                    free(c, reservation.get());
                }
                c.commit();
                return null;
            }
        });
    }

    private static final String FREE_RESERVATION = "DELETE FROM issuance_reservation WHERE id = ?";

    private static void free(Connection c, String reservation) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(FREE_RESERVATION)) {
            ps.setString(1, reservation);
            ps.executeUpdate();
        }
    }

    // --- Issued-certificate ledger -----------------------------------------------------------

    /** How a revocation request ended. */
    public enum RevocationOutcome { REVOKED, ALREADY_REVOKED, UNKNOWN_SERIAL }

    /**
     * Records an issued certificate and its audit event in one transaction shared with other
     * concurrent writes (group commit). Completes once the commit is durable: only then may the
     * caller hand the certificate out. Completes with {@link DuplicateException} when the serial
     * is already in the ledger.
     */
    public CompletionStage<Void> recordIssuance(IssuedCertificate cert) {
        return recordIssuance(cert, Optional.empty());
    }

    /**
     * The same, and the place its claim took under the issuance limit ({@link IssuanceReservation#id()})
     * is freed in the same transaction: from then on the certificate counts instead, never both,
     * and never neither.
     */
    public CompletionStage<Void> recordIssuance(IssuedCertificate cert, Optional<String> reservation) {
        String insert = "INSERT INTO issued_certificate (serial, enrolee_id, profile, subject, sans, not_before, not_after, status, issued_at, der, "
                + "request_key, issuer_key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        String issuerKeyId = IssuerKeyId.ofCertificate(cert.der()).orElse(null);
        return groupCommit.submit("record certificate " + cert.serialHex(), tx -> {
            tx.insert(insert, ps -> {
                ps.setString(1, cert.serialHex());
                ps.setString(2, cert.enroleeId());
                ps.setString(3, cert.profile());
                ps.setString(4, cert.subject());
                ps.setString(5, cert.subjectAltNames());
                ps.setObject(6, timestamp(cert.notBefore()));
                ps.setObject(7, timestamp(cert.notAfter()));
                ps.setString(8, cert.status().name());
                ps.setObject(9, timestamp(cert.issuedAt()));
                ps.setBytes(10, cert.der());
                ps.setString(11, cert.requestKey().orElse(null));
                ps.setString(12, issuerKeyId);
            });
            if (reservation.isPresent()) {
                tx.insert(FREE_RESERVATION, ps -> ps.setString(1, reservation.get()));
            }
            tx.append(new AuditEvent.Draft(cert.issuedAt(), "certificate.issued", "enrolee:" + cert.enroleeId(),
                    "serial:" + cert.serialHex(), "profile=" + cert.profile() + " subject=" + cert.subject()
                    + " sans=" + cert.subjectAltNames() + " notAfter=" + cert.notAfter()));
            return null;
        });
    }

    /**
     * Appends one event to the audit log (refusals, policy reloads, admin actions). Completes once
     * it is durable.
     */
    public CompletionStage<Void> audit(AuditEvent.Draft event) {
        return groupCommit.submit("record audit event " + event.type(), tx -> {
            tx.append(event);
            return null;
        });
    }

    /**
     * Revokes an issued certificate, with its audit event, in one durable transaction. A
     * revocation is final: revoking again keeps the first date and reason.
     */
    public CompletionStage<RevocationOutcome> revoke(String serialHex, RevocationReason reason, Instant at, String actor) {
        String update = "UPDATE issued_certificate SET status = 'REVOKED', revoked_at = ?, revocation_reason = ? WHERE serial = ? AND status = 'ISSUED'";
        return groupCommit.submit("revoke certificate " + serialHex, tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(update)) {
                ps.setObject(1, timestamp(at));
                ps.setInt(2, reason.code());
                ps.setString(3, serialHex);
                if (ps.executeUpdate() == 1) {
                    tx.append(new AuditEvent.Draft(at, "certificate.revoked", actor, "serial:" + serialHex, "reason=" + reason.rfcName()));
                    return RevocationOutcome.REVOKED;
                }
            }
            return exists(tx.connection(), "SELECT 1 FROM issued_certificate WHERE serial = ?", serialHex)
                    ? RevocationOutcome.ALREADY_REVOKED : RevocationOutcome.UNKNOWN_SERIAL;
        });
    }

    /**
     * What the ledger says about a serial (lower-case hex without leading zeros, as
     * {@code BigInteger.toString(16)} writes it). Re-enrolment calls this (or {@link #isRevoked})
     * with the serial of the certificate the client presents; OCSP answers from it.
     */
    public CertificateStatus certificateStatus(String serialHex) {
        String sql = "SELECT status, revoked_at, revocation_reason FROM issued_certificate WHERE serial = ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, serialHex);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new CertificateStatus.Unknown();
                }
                if ("REVOKED".equals(rs.getString(1))) {
                    return new CertificateStatus.Revoked(new Revocation(serialHex, RevocationReason.fromCode(rs.getInt(3)), instant(rs, 2)));
                }
                return new CertificateStatus.Good();
            }
        } catch (SQLException ex) {
            throw failure("read the status of certificate " + serialHex, ex);
        }
    }

    /**
     * What the ledger says about a serial as a certificate of the CA key {@code issuerKeyId}
     * ({@link IssuerKeyId}): a serial another of our keys issued is Unknown here. OCSP answers from it.
     */
    public CertificateStatus certificateStatus(String serialHex, String issuerKeyId) {
        String sql = "SELECT status, revoked_at, revocation_reason FROM issued_certificate WHERE serial = ? AND issuer_key_id = ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, serialHex);
            ps.setString(2, issuerKeyId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new CertificateStatus.Unknown();
                }
                if ("REVOKED".equals(rs.getString(1))) {
                    return new CertificateStatus.Revoked(new Revocation(serialHex, RevocationReason.fromCode(rs.getInt(3)), instant(rs, 2)));
                }
                return new CertificateStatus.Good();
            }
        } catch (SQLException ex) {
            throw failure("read the status of certificate " + serialHex, ex);
        }
    }

    /** True when the CA issued this serial and revoked it. */
    public boolean isRevoked(String serialHex) {
        return certificateStatus(serialHex) instanceof CertificateStatus.Revoked;
    }

    /**
     * Certificates of the CA key {@code issuerKeyId} that are revoked and have not expired at
     * {@code now}: the entries of that key's next CRL (RFC 5280 3.3).
     */
    public List<Revocation> revocationsUnexpiredAt(Instant now, String issuerKeyId) {
        String sql = "SELECT serial, revocation_reason, revoked_at FROM issued_certificate WHERE status = 'REVOKED' AND not_after > ? "
                + "AND issuer_key_id = ? ORDER BY revoked_at, serial";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, timestamp(now));
            ps.setString(2, issuerKeyId);
            List<Revocation> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Revocation(rs.getString(1), RevocationReason.fromCode(rs.getInt(2)), instant(rs, 3)));
                }
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read revocations", ex);
        }
    }

    /** The ledger entry of this serial (lower-case hex, no leading zeros), if this CA issued it. */
    public Optional<IssuedCertificate> certificate(String serialHex) {
        String sql = "SELECT " + CERTIFICATE_COLUMNS + " FROM issued_certificate WHERE serial = ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, serialHex);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(certificate(rs)) : Optional.empty();
            }
        } catch (SQLException ex) {
            throw failure("read certificate " + serialHex, ex);
        }
    }

    private static final String CERTIFICATE_COLUMNS =
            "serial, enrolee_id, profile, subject, sans, not_before, not_after, status, issued_at, der, request_key";

    private static IssuedCertificate certificate(ResultSet rs) throws SQLException {
        return new IssuedCertificate(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), instant(rs, 6), instant(rs, 7), IssuedCertificate.Status.valueOf(rs.getString(8)), instant(rs, 9), rs.getBytes(10),
                Optional.ofNullable(rs.getString(11)));
    }

    /**
     * The newest certificate issued to the Enrolee at or after {@code since} for a request that asked for
     * exactly this ({@code requestKey}): what a repeat of that request gets again.
     */
    public Optional<IssuedCertificate> issuedFor(String enroleeId, String requestKey, Instant since) {
        String sql = "SELECT " + CERTIFICATE_COLUMNS + " FROM issued_certificate WHERE enrolee_id = ? AND request_key = ? "
                + "AND issued_at >= ? ORDER BY issued_at DESC LIMIT 1";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, enroleeId);
            ps.setString(2, requestKey);
            ps.setObject(3, timestamp(since));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(certificate(rs)) : Optional.empty();
            }
        } catch (SQLException ex) {
            throw failure("read the certificates of " + enroleeId, ex);
        }
    }

    /** Whether the Enrolee was issued any certificate at or after {@code since}. */
    public boolean issuedAfter(String enroleeId, Instant since) {
        String sql = "SELECT 1 FROM issued_certificate WHERE enrolee_id = ? AND issued_at >= ? LIMIT 1";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, enroleeId);
            ps.setObject(2, timestamp(since));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException ex) {
            throw failure("read the certificates of " + enroleeId, ex);
        }
    }

    // --- Requests waiting for an operator (deferred issuance) --------------------------------

    private static void insertHeld(Connection c, HeldRequest r) throws SQLException {
        String sql = "INSERT INTO pending_request (id, enrolee_id, label, reenrol, csr_hash, request_key, csr, status, created_at, "
                + "renews_serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, r.id());
            ps.setString(2, r.enroleeId());
            ps.setString(3, r.label());
            ps.setBoolean(4, r.reenrol());
            ps.setString(5, r.csrHash());
            ps.setString(6, r.requestKey());
            ps.setBytes(7, r.csr());
            ps.setString(8, r.status().name());
            ps.setObject(9, timestamp(r.createdAt()));
            ps.setString(10, r.renewsSerial().orElse(null));
            ps.executeUpdate();
        }
    }

    /**
     * The Enrolee's newest request held since {@code since} (its last instruction) that asked for
     * exactly this: by {@code requestKey}, or for requests held before that was recorded, by the
     * DER's hash.
     */
    public Optional<HeldRequest> heldRequest(String enroleeId, String requestKey, String csrHash, Instant since) {
        return selectHeld("WHERE enrolee_id = ? AND (request_key = ? OR csr_hash = ?) AND created_at >= ? ORDER BY created_at DESC",
                enroleeId, requestKey, csrHash, timestamp(since)).stream().findFirst();
    }

    /** The Enrolee's newest held request since {@code since}, whatever it asked for. */
    public Optional<HeldRequest> latestHeldRequest(String enroleeId, Instant since) {
        return selectHeld("WHERE enrolee_id = ? AND created_at >= ? ORDER BY created_at DESC", enroleeId, timestamp(since))
                .stream().findFirst();
    }

    public Optional<HeldRequest> heldRequest(String id) {
        return selectHeld("WHERE id = ?", id).stream().findFirst();
    }

    /** Held requests, oldest first; with {@code status}, only those. */
    public List<HeldRequest> heldRequests(Optional<HeldRequest.Status> status) {
        return status.isPresent() ? selectHeld("WHERE status = ? ORDER BY created_at", status.get().name())
                : selectHeld("ORDER BY created_at");
    }

    /**
     * Decides a held request, once: only a PENDING request changes, so two operators (or two
     * nodes) approving at once decide it once. False when it was no longer pending.
     */
    public boolean decideRequest(String id, HeldRequest.Status status, String reason, String serialHex, Instant now) {
        String sql = "UPDATE pending_request SET status = ?, reason = ?, serial = ?, decided_at = ? WHERE id = ? AND status = ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, status.name());
            ps.setString(2, reason);
            ps.setString(3, serialHex);
            ps.setObject(4, timestamp(now));
            ps.setString(5, id);
            ps.setString(6, HeldRequest.Status.PENDING.name());
            return ps.executeUpdate() == 1;
        } catch (SQLException ex) {
            throw failure("decide request " + id, ex);
        }
    }

    /** Approval failed to sign or record: the request is pending again (only if it is still that approval's). */
    public void reopenRequest(String id, String serialHex) {
        update("UPDATE pending_request SET status = ?, serial = NULL, decided_at = NULL WHERE id = ? AND serial = ?",
                HeldRequest.Status.PENDING.name(), id, serialHex);
    }

    private List<HeldRequest> selectHeld(String where, Object... params) {
        String sql = "SELECT id, enrolee_id, label, reenrol, csr_hash, request_key, csr, status, reason, serial, created_at, decided_at, "
                + "renews_serial FROM pending_request " + where;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            List<HeldRequest> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new HeldRequest(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4),
                            Optional.ofNullable(rs.getString(13)), rs.getString(5), rs.getString(6), rs.getBytes(7), HeldRequest.Status.valueOf(rs.getString(8)),
                            Optional.ofNullable(rs.getString(9)), Optional.ofNullable(rs.getString(10)), instant(rs, 11),
                            Optional.ofNullable(rs.getObject(12, OffsetDateTime.class)).map(OffsetDateTime::toInstant)));
                }
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read held requests", ex);
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
        return certificates(CertificateFilter.ALL);
    }

    /** Ledger entries matching the filter, oldest first. */
    public List<IssuedCertificate> certificates(CertificateFilter filter) {
        StringBuilder sql = new StringBuilder("SELECT " + CERTIFICATE_COLUMNS + " FROM issued_certificate WHERE 1 = 1");
        List<Object> params = new ArrayList<>();
        filter.enroleeId().ifPresent(id -> {
            sql.append(" AND enrolee_id = ?");
            params.add(id);
        });
        filter.status().ifPresent(st -> {
            sql.append(" AND status = ?");
            params.add(st.name());
        });
        filter.expiresBefore().ifPresent(t -> {
            sql.append(" AND not_after < ?");
            params.add(timestamp(t));
        });
        sql.append(" ORDER BY issued_at, serial");
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i));
            }
            List<IssuedCertificate> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(certificate(rs));
                }
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read certificates", ex);
        }
    }

    // --- CRLs --------------------------------------------------------------------------------

    /** The newest CRL any node signed for the CA key {@code caKey} (its configured name), if one was. */
    public Optional<StoredCrl> latestCrl(String caKey) {
        String sql = "SELECT crl_number, this_update, next_update, der FROM crl WHERE ca_key = ? ORDER BY crl_number DESC LIMIT 1";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, caKey);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new StoredCrl(rs.getLong(1), instant(rs, 2), instant(rs, 3), rs.getBytes(4))) : Optional.empty();
            }
        } catch (SQLException ex) {
            throw failure("read the latest CRL of CA key " + caKey, ex);
        }
    }

    /**
     * Keeps a newly signed CRL of the CA key {@code caKey}. Returns false when another node stored
     * a CRL of that key with the same number first: the caller signs again with a higher number.
     */
    public boolean saveCrl(String caKey, StoredCrl crl) {
        String sql = "INSERT INTO crl (ca_key, crl_number, this_update, next_update, der) VALUES (?, ?, ?, ?, ?)";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, caKey);
            ps.setLong(2, crl.number());
            ps.setObject(3, timestamp(crl.thisUpdate()));
            ps.setObject(4, timestamp(crl.nextUpdate()));
            ps.setBytes(5, crl.der());
            ps.executeUpdate();
            dialect.makeDurable(c);
            return true;
        } catch (SQLException ex) {
            if (isIntegrityViolation(ex)) {
                return false;
            }
            throw failure("save CRL " + crl.number() + " of CA key " + caKey, ex);
        }
    }

    // --- OCSP responder certificates ---------------------------------------------------------

    /**
     * Records a delegated OCSP responder certificate that the CA key {@code caKey} issued, with its
     * audit event, in one durable transaction.
     */
    public CompletionStage<Void> recordResponderCertificate(String caKey, String serialHex, Instant notBefore, Instant notAfter,
                                                           byte[] der, Instant at) {
        String insert = "INSERT INTO ocsp_responder_certificate (serial, ca_key, not_before, not_after, der) VALUES (?, ?, ?, ?, ?)";
        return groupCommit.submit("record OCSP responder certificate " + serialHex, tx -> {
            tx.insert(insert, ps -> {
                ps.setString(1, serialHex);
                ps.setString(2, caKey);
                ps.setObject(3, timestamp(notBefore));
                ps.setObject(4, timestamp(notAfter));
                ps.setBytes(5, der);
            });
            tx.append(new AuditEvent.Draft(at, "ocsp.responder.certified", "gateway", "serial:" + serialHex,
                    "caKey=" + caKey + " notAfter=" + notAfter));
            return null;
        });
    }

    /** The DER of the responder certificates of {@code caKey} that are still valid at {@code now}, latest notAfter first. */
    public List<byte[]> responderCertificates(String caKey, Instant now) {
        String sql = "SELECT der FROM ocsp_responder_certificate WHERE ca_key = ? AND not_after > ? ORDER BY not_after DESC LIMIT 10";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, caKey);
            ps.setObject(2, timestamp(now));
            List<byte[]> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getBytes(1));
                }
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read the OCSP responder certificates of CA key " + caKey, ex);
        }
    }

    // --- Audit log ---------------------------------------------------------------------------

    /** Walks the whole audit log in order and reports the first broken link, if any. */
    public AuditChain.Verification verifyAuditChain() {
        AuditChain chain = new AuditChain();
        String sql = "SELECT seq, at, type, actor, subject, detail, prev_hash, hash FROM audit_event WHERE seq > ? ORDER BY seq LIMIT 1000";
        long after = 0;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            // Pages of 1000, so a long log is never held in memory at once.
            while (true) {
                ps.setLong(1, after);
                int n = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        n++;
                        AuditEvent e = auditEvent(rs);
                        after = e.seq();
                        if (!chain.accept(e)) {
                            return chain.result();
                        }
                    }
                }
                if (n == 0) {
                    return chain.result();
                }
            }
        } catch (SQLException ex) {
            throw failure("read the audit log", ex);
        }
    }

    /** Audit events with seq greater than {@code afterSeq}, in order, at most {@code limit}. */
    public List<AuditEvent> auditEvents(long afterSeq, int limit) {
        String sql = "SELECT seq, at, type, actor, subject, detail, prev_hash, hash FROM audit_event WHERE seq > ? ORDER BY seq LIMIT ?";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, afterSeq);
            ps.setInt(2, limit);
            List<AuditEvent> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(auditEvent(rs));
                }
            }
            return out;
        } catch (SQLException ex) {
            throw failure("read the audit log", ex);
        }
    }

    private static AuditEvent auditEvent(ResultSet rs) throws SQLException {
        return new AuditEvent(rs.getLong(1), instant(rs, 2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6),
                rs.getString(7), rs.getString(8));
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
        groupCommit.close();
        dataSource.close();
    }

    /** A unit of work in one transaction; it commits or rolls back itself. */
    private interface Transaction<T> {
        T run(Connection c) throws SQLException;
    }

    /** Runs {@code work} in a transaction, again on a serialization failure (distributed engines ask for that). */
    private <T> T transaction(String what, Transaction<T> work) {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    return work.run(c);
                } catch (SQLException | RuntimeException ex) {
                    c.rollback();
                    throw ex;
                }
            } catch (SQLException ex) {
                if (isSerializationFailure(ex) && attempt < TRANSACTION_ATTEMPTS) {
                    continue;
                }
                throw failure(what, ex);
            }
        }
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

    private static boolean exists(Connection c, String sql, String param) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** To the microsecond, as H2 and PostgreSQL store it, so that a time written can be compared again. */
    private static OffsetDateTime timestamp(Instant instant) {
        return OffsetDateTime.ofInstant(instant.truncatedTo(java.time.temporal.ChronoUnit.MICROS), ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }

    private static StoreException failure(String what, SQLException e) {
        // SQL state class 23 is an integrity constraint violation: a uniqueness race we lost.
        if (isIntegrityViolation(e)) {
            return new DuplicateException("cannot " + what + ": it would duplicate an existing entry");
        }
        return new StoreException("cannot " + what + ": " + e.getMessage(), e);
    }
}
