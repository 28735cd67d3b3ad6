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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.RegisteredEnrolee;

import static org.mefgateway.gateway.store.Jdbc.instant;

/**
 * The MEF's durable state behind one JDBC code path, on H2 (embedded default) or PostgreSQL
 * (several nodes): the Enrolee registry, challenges, the issued-certificate ledger with its
 * revocations, CRLs and the hash-chained audit log. Schema changes are Flyway migrations.
 *
 * <p>Methods returning a value block (their statements go through {@link Jdbc}): callers run them
 * on the store's worker pool, never on an event loop. Ledger and audit writes, and the operator's
 * changes to the registry, return a {@link CompletionStage} instead: they go through
 * {@link GroupCommit}, which commits many of them in one durable transaction, each change with its
 * audit event.
 *
 * <p>The SQL is kept to what PostgreSQL-compatible distributed engines (CockroachDB, YugabyteDB)
 * accept: no sequences, no advisory locks, uniqueness by constraints, and transactions retried on
 * serialization failures (SQLSTATE 40001).
 */
public final class Store implements AutoCloseable {
    private final HikariDataSource dataSource;
    private final Jdbc jdbc;
    private final Dialect dialect;
    private final GroupCommit groupCommit;

    private Store(HikariDataSource dataSource, Dialect dialect, MeterRegistry meters) {
        this.dataSource = dataSource;
        DataSource counted = new StatementCounts(meters).counting(dataSource);
        this.jdbc = new Jdbc(counted);
        this.dialect = dialect;
        this.groupCommit = new GroupCommit(counted, dialect, meters);
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
        jdbc.inTransaction("record the CA key of earlier certificates", c -> {
            List<String[]> found = new ArrayList<>();
            for (IssuerKeyless row : Jdbc.query(c, "SELECT serial, der FROM issued_certificate WHERE issuer_key_id IS NULL",
                    rs -> new IssuerKeyless(rs.getString(1), rs.getBytes(2)))) {
                IssuerKeyId.ofCertificate(row.der()).ifPresent(id -> found.add(new String[] {row.serial(), id}));
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE issued_certificate SET issuer_key_id = ? WHERE serial = ?")) {
                for (String[] row : found) {
                    Jdbc.bind(ps, row[1], row[0]);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    private record IssuerKeyless(String serial, byte[] der) {
    }

    /** A URL as it may be logged: without query parameters, which may carry credentials. */
    static String redacted(String jdbcUrl) {
        int q = jdbcUrl.indexOf('?');
        return q < 0 ? jdbcUrl : jdbcUrl.substring(0, q) + "?...";
    }

    // --- Enrolee registry ---------------------------------------------------------------------

    /** How a registration ended. */
    public enum Registration { REGISTERED, ID_TAKEN, FINGERPRINT_TAKEN }

    /**
     * Registers an Enrolee, with the operator's audit event, in one durable transaction: neither
     * is kept without the other. An id or bootstrap certificate already registered is refused
     * (nothing written); one registered by a concurrent writer meanwhile completes the stage with
     * {@link DuplicateException}.
     */
    public CompletionStage<Registration> registerEnrolee(StoredEnrolee e, AuditEvent.Draft audit) {
        String insert = "INSERT INTO enrolee (id, bootstrap_fingerprint, cert_subject_type, cert_subject_id, suids, command, registered_at, "
                + "profiles, instructed_at, cert_prov_protocol) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        return groupCommit.submit("register Enrolee " + e.enrolee().id(), tx -> {
            if (Jdbc.exists(tx.connection(), "SELECT 1 FROM enrolee WHERE id = ?", e.enrolee().id())) {
                return Registration.ID_TAKEN;
            }
            if (Jdbc.exists(tx.connection(), "SELECT 1 FROM enrolee WHERE bootstrap_fingerprint = ?", e.bootstrapFingerprint())) {
                return Registration.FINGERPRINT_TAKEN;
            }
            tx.insert(insert, ps -> Jdbc.bind(ps, e.enrolee().id(), e.bootstrapFingerprint(), e.enrolee().type().code(),
                    e.enrolee().certSubjectId(), new TreeSet<>(e.enrolee().suids()).stream().map(String::valueOf).collect(Collectors.joining(",")),
                    e.command(), e.registeredAt(), String.join(",", e.profiles()), e.instructedAt(), e.protocol()));
            tx.append(audit);
            return Registration.REGISTERED;
        });
    }

    public Optional<StoredEnrolee> enroleeByFingerprint(String fingerprint) {
        return enrolees("WHERE bootstrap_fingerprint = ?", fingerprint).stream().findFirst();
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
     * may use (the first is the one the command names); {@code protocol} is the one the command
     * names. The change and the operator's audit event
     * commit together, durably. False when there is no such Enrolee (nothing is audited then).
     */
    public CompletionStage<Boolean> instruct(String enroleeId, Optional<List<String>> profiles, StoredEnrolee.CertProvProtocol protocol,
                                             Instant now, AuditEvent.Draft audit) {
        String sql = "UPDATE enrolee SET command = ?, command_result = NULL, instructed_at = ?, cert_prov_protocol = ?"
                + (profiles.isPresent() ? ", profiles = ?" : "") + " WHERE id = ?";
        List<Object> params = new ArrayList<>(List.of(StoredEnrolee.Command.CERT_PROV, now, protocol));
        profiles.ifPresent(p -> params.add(String.join(",", p)));
        params.add(enroleeId);
        return groupCommit.submit("instruct Enrolee " + enroleeId,
                tx -> audited(tx, Jdbc.update(tx.connection(), sql, params.toArray()) == 1, audit));
    }

    /**
     * Removes the registration (its challenges and pending requests go with it; issued
     * certificates stay in the ledger), with the operator's audit event, in one durable
     * transaction. False when there is no such Enrolee (nothing is audited then).
     */
    public CompletionStage<Boolean> removeEnrolee(String enroleeId, AuditEvent.Draft audit) {
        return groupCommit.submit("remove Enrolee " + enroleeId,
                tx -> audited(tx, Jdbc.update(tx.connection(), "DELETE FROM enrolee WHERE id = ?", enroleeId) == 1, audit));
    }

    /** Appends {@code audit} to the transaction when the change it describes happened. */
    private static boolean audited(GroupCommit.Tx tx, boolean changed, AuditEvent.Draft audit) throws SQLException {
        if (changed) {
            tx.append(audit);
        }
        return changed;
    }

    /** Records how the Enrolee's last CERT_PROV attempt ended. */
    public void recordCommandResult(String enroleeId, StoredEnrolee.CommandResult result) {
        jdbc.update("record the command result of " + enroleeId, COMMAND_RESULT, result, enroleeId);
    }

    private static final String ENROLEE_COLUMNS = "id, bootstrap_fingerprint, cert_subject_type, cert_subject_id, suids, command, "
            + "registered_at, command_result, profiles, instructed_at, cert_prov_protocol";

    private List<StoredEnrolee> enrolees(String where, Object... params) {
        return jdbc.query("read Enrolees", "SELECT " + ENROLEE_COLUMNS + " FROM enrolee " + where, rs -> enrolee(rs, 0), params);
    }

    /** The Enrolee in the eleven columns of {@link #ENROLEE_COLUMNS} after column {@code offset}. */
    private static StoredEnrolee enrolee(ResultSet rs, int offset) throws SQLException {
        Set<Integer> suids = rs.getString(offset + 5).isEmpty() ? Set.of()
                : Arrays.stream(rs.getString(offset + 5).split(",")).map(Integer::valueOf).collect(Collectors.toSet());
        RegisteredEnrolee enrolee = new RegisteredEnrolee(rs.getString(offset + 1), CertSubjectType.fromCode(rs.getInt(offset + 3)),
                rs.getString(offset + 4), suids);
        return new StoredEnrolee(enrolee, rs.getString(offset + 2), StoredEnrolee.Command.valueOf(rs.getString(offset + 6)),
                instant(rs, offset + 7), Optional.ofNullable(rs.getString(offset + 8)).map(StoredEnrolee.CommandResult::valueOf),
                List.of(rs.getString(offset + 9).split(",")), instant(rs, offset + 10),
                StoredEnrolee.CertProvProtocol.valueOf(rs.getString(offset + 11)));
    }

    /** A certificate of the ledger and its Enrolee, empty when the Enrolee is no longer registered. */
    public record IssuedTo(IssuedCertificate certificate, Optional<StoredEnrolee> enrolee) {
    }

    /**
     * The ledger entry of this serial and the registration of its Enrolee, in one statement: who a
     * caller renewing that certificate is.
     */
    public Optional<IssuedTo> issuedTo(String serialHex) {
        String sql = "SELECT " + CERTIFICATE_COLUMNS + ", " + ENROLEE_COLUMNS
                + " FROM issued_certificate LEFT JOIN enrolee ON enrolee.id = issued_certificate.enrolee_id WHERE serial = ?";
        return jdbc.first("read certificate " + serialHex + " and its Enrolee", sql, rs -> new IssuedTo(certificate(rs),
                rs.getString(12) == null ? Optional.empty() : Optional.of(enrolee(rs, 11))), serialHex);
    }

    // --- Challenges --------------------------------------------------------------------------

    public void saveChallenge(String hash, String enroleeId, Instant issuedAt, Instant expiresAt) {
        jdbc.update("save a challenge", "INSERT INTO challenge (hash, enrolee_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                hash, enroleeId, issuedAt, expiresAt);
    }

    public Optional<IssuedChallenge> challenge(String hash) {
        return jdbc.first("read a challenge", "SELECT enrolee_id, expires_at, used_at FROM challenge WHERE hash = ?",
                rs -> new IssuedChallenge(rs.getString(1), instant(rs, 2), rs.getObject(3) != null), hash);
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
        return jdbc.inTransaction("claim an issuance for " + enroleeId, c -> {
            // A reservation alone needs no lock of its own when the command is claimed: that
            // update locks the row before the reservation counts (one statement less per enrolment).
            if (hold.isPresent() || (reservation.isPresent() && !claimCommand)) {
                lockEnrolee(c, enroleeId);
            }
            Claim claim = claim(c, challengeHash, enroleeId, claimCommand, now, hold, maxPending, reservation);
            if (claim != Claim.CLAIMED) {
                c.rollback();
            }
            return claim;
        });
    }

    private static Claim claim(Connection c, String challengeHash, String enroleeId, boolean claimCommand, Instant now,
                               Optional<HeldRequest> hold, int maxPending, Optional<IssuanceReservation> reservation) throws SQLException {
        if (hold.isPresent() && pendingCount(c, enroleeId) >= maxPending) {
            return Claim.PENDING_LIMIT;
        }
        if (challengeHash != null && Jdbc.update(c, "UPDATE challenge SET used_at = ? WHERE hash = ? AND enrolee_id = ? AND used_at IS NULL "
                + "AND expires_at > ?", now, challengeHash, enroleeId, now) != 1) {
            return Claim.CHALLENGE_NOT_USABLE;
        }
        if (claimCommand && Jdbc.update(c, "UPDATE enrolee SET command = ? WHERE id = ? AND command = ?",
                StoredEnrolee.Command.NO_MORE_COMMANDS, enroleeId, StoredEnrolee.Command.CERT_PROV) != 1) {
            return Claim.NO_PENDING_COMMAND;
        }
        if (reservation.isPresent() && !reserve(c, enroleeId, reservation.get(), now)) {
            return Claim.ISSUANCE_LIMIT;
        }
        if (hold.isPresent()) {
            insertHeld(c, hold.get());
        }
        return Claim.CLAIMED;
    }

    /** Locks the Enrolee's row until the transaction ends: its claims that count something are decided one at a time. */
    private static void lockEnrolee(Connection c, String enroleeId) throws SQLException {
        Jdbc.query(c, "SELECT id FROM enrolee WHERE id = ? FOR UPDATE", rs -> rs.getString(1), enroleeId);
    }

    /** PENDING requests of the Enrolee (its row locked). */
    private static int pendingCount(Connection c, String enroleeId) throws SQLException {
        return Jdbc.first(c, "SELECT COUNT(*) FROM pending_request WHERE enrolee_id = ? AND status = ?", rs -> rs.getInt(1),
                enroleeId, HeldRequest.Status.PENDING).orElseThrow();
    }

    /**
     * Takes a place under the Enrolee's issuance limit (its row locked), unless the certificates
     * issued in the window and the places held there already make the limit. Places older than
     * the window (left by a process that died) no longer count; the record of the Enrolee's next
     * certificate drops them ({@link #recordIssuance}).
     */
    private static boolean reserve(Connection c, String enroleeId, IssuanceReservation r, Instant now) throws SQLException {
        // One statement, so one snapshot: a certificate whose record commits meanwhile (deleting
        // its place in the same transaction) is seen either as the place or as the certificate,
        // never as neither, which two statements could.
        String count = "SELECT (SELECT COUNT(*) FROM issued_certificate WHERE enrolee_id = ? AND issued_at > ?)"
                + " + (SELECT COUNT(*) FROM issuance_reservation WHERE enrolee_id = ? AND reserved_at > ?)";
        if (Jdbc.first(c, count, rs -> rs.getLong(1), enroleeId, r.windowStart(), enroleeId, r.windowStart()).orElseThrow() >= r.limit()) {
            return false;
        }
        Jdbc.update(c, "INSERT INTO issuance_reservation (id, enrolee_id, reserved_at) VALUES (?, ?, ?)", r.id(), enroleeId, now);
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
        jdbc.inTransaction("release the issuance claim of " + enroleeId, c -> {
            if (challengeHash != null) {
                Jdbc.update(c, "UPDATE challenge SET used_at = NULL WHERE hash = ? AND enrolee_id = ? AND used_at = ?",
                        challengeHash, enroleeId, claimedAt);
            }
            if (restoreCommand) {
                Jdbc.update(c, "UPDATE enrolee SET command = ? WHERE id = ? AND NOT EXISTS "
                        + "(SELECT 1 FROM issued_certificate WHERE enrolee_id = ? AND issued_at >= ?)",
                        StoredEnrolee.Command.CERT_PROV, enroleeId, enroleeId, claimedAt);
            }
            if (reservation.isPresent()) {
                Jdbc.update(c, "DELETE FROM issuance_reservation WHERE id = ?", reservation.get());
            }
            return null;
        });
    }

    /** The place of one claim, and the Enrolee's places older than the window. */
    private static final String FREE_RESERVATION = "DELETE FROM issuance_reservation WHERE id = ? OR (enrolee_id = ? AND reserved_at <= ?)";
    private static final String COMMAND_RESULT = "UPDATE enrolee SET command_result = ? WHERE id = ?";

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
        return recordIssuance(cert, Optional.empty(), false);
    }

    /**
     * The same, and the place its claim took under the issuance limit ({@link IssuanceReservation#id()})
     * is freed in the same transaction: from then on the certificate counts instead, never both,
     * and never neither. The Enrolee's places older than {@code reservationWindowStart} (left by
     * a process that died) go with it. With {@code completesCommand} (a first enrolment), the
     * Enrolee's last command result becomes OK in the same transaction, rather than in a
     * statement of its own after the answer.
     */
    public CompletionStage<Void> recordIssuance(IssuedCertificate cert, Optional<IssuanceReservation> reservation,
                                                boolean completesCommand) {
        String insert = "INSERT INTO issued_certificate (serial, enrolee_id, profile, subject, sans, not_before, not_after, status, issued_at, der, "
                + "request_key, issuer_key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        String issuerKeyId = IssuerKeyId.ofCertificate(cert.der()).orElse(null);
        return groupCommit.submit("record certificate " + cert.serialHex(), tx -> {
            tx.insert(insert, ps -> Jdbc.bind(ps, cert.serialHex(), cert.enroleeId(), cert.profile(), cert.subject(),
                    cert.subjectAltNames(), cert.notBefore(), cert.notAfter(), cert.status(), cert.issuedAt(), cert.der(),
                    cert.requestKey().orElse(null), issuerKeyId));
            if (reservation.isPresent()) {
                tx.insert(FREE_RESERVATION, ps -> Jdbc.bind(ps, reservation.get().id(), cert.enroleeId(), reservation.get().windowStart()));
            }
            if (completesCommand) {
                tx.insert(COMMAND_RESULT, ps -> Jdbc.bind(ps, StoredEnrolee.CommandResult.OK, cert.enroleeId()));
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
        String update = "UPDATE issued_certificate SET status = ?, revoked_at = ?, revocation_reason = ? WHERE serial = ? AND status = ?";
        return groupCommit.submit("revoke certificate " + serialHex, tx -> {
            if (Jdbc.update(tx.connection(), update, IssuedCertificate.Status.REVOKED, at, reason.code(), serialHex,
                    IssuedCertificate.Status.ISSUED) == 1) {
                tx.append(new AuditEvent.Draft(at, "certificate.revoked", actor, "serial:" + serialHex, "reason=" + reason.rfcName()));
                return RevocationOutcome.REVOKED;
            }
            return Jdbc.exists(tx.connection(), "SELECT 1 FROM issued_certificate WHERE serial = ?", serialHex)
                    ? RevocationOutcome.ALREADY_REVOKED : RevocationOutcome.UNKNOWN_SERIAL;
        });
    }

    /**
     * What the ledger says about a serial (lower-case hex without leading zeros, as
     * {@code BigInteger.toString(16)} writes it). Re-enrolment calls this (or {@link #isRevoked})
     * with the serial of the certificate the client presents; OCSP answers from it.
     */
    public CertificateStatus certificateStatus(String serialHex) {
        return certificateStatus(serialHex, "SELECT status, revoked_at, revocation_reason FROM issued_certificate WHERE serial = ?",
                serialHex);
    }

    /**
     * What the ledger says about a serial as a certificate of the CA key {@code issuerKeyId}
     * ({@link IssuerKeyId}): a serial another of our keys issued is Unknown here. OCSP answers from it.
     */
    public CertificateStatus certificateStatus(String serialHex, String issuerKeyId) {
        return certificateStatus(serialHex, "SELECT status, revoked_at, revocation_reason FROM issued_certificate WHERE serial = ? "
                + "AND issuer_key_id = ?", serialHex, issuerKeyId);
    }

    private CertificateStatus certificateStatus(String serialHex, String sql, Object... params) {
        return jdbc.first("read the status of certificate " + serialHex, sql, rs -> status(serialHex, rs), params)
                .orElseGet(CertificateStatus.Unknown::new);
    }

    private static CertificateStatus status(String serialHex, ResultSet rs) throws SQLException {
        if (IssuedCertificate.Status.valueOf(rs.getString(1)) == IssuedCertificate.Status.REVOKED) {
            return new CertificateStatus.Revoked(new Revocation(serialHex, RevocationReason.fromCode(rs.getInt(3)), instant(rs, 2)));
        }
        return new CertificateStatus.Good();
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
        String sql = "SELECT serial, revocation_reason, revoked_at FROM issued_certificate WHERE status = ? AND not_after > ? "
                + "AND issuer_key_id = ? ORDER BY revoked_at, serial";
        return jdbc.query("read revocations", sql,
                rs -> new Revocation(rs.getString(1), RevocationReason.fromCode(rs.getInt(2)), instant(rs, 3)),
                IssuedCertificate.Status.REVOKED, now, issuerKeyId);
    }

    /** The ledger entry of this serial (lower-case hex, no leading zeros), if this CA issued it. */
    public Optional<IssuedCertificate> certificate(String serialHex) {
        return jdbc.first("read certificate " + serialHex, "SELECT " + CERTIFICATE_COLUMNS + " FROM issued_certificate WHERE serial = ?",
                Store::certificate, serialHex);
    }

    private static final String CERTIFICATE_COLUMNS =
            "serial, enrolee_id, profile, subject, sans, not_before, not_after, status, issued_at, der, request_key";

    private static IssuedCertificate certificate(ResultSet rs) throws SQLException {
        return new IssuedCertificate(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getString(5), instant(rs, 6), instant(rs, 7), IssuedCertificate.Status.valueOf(rs.getString(8)), instant(rs, 9),
                rs.getBytes(10), Optional.ofNullable(rs.getString(11)));
    }

    /**
     * The newest certificate issued to the Enrolee at or after {@code since} for a request that asked for
     * exactly this ({@code requestKey}): what a repeat of that request gets again.
     */
    public Optional<IssuedCertificate> issuedFor(String enroleeId, String requestKey, Instant since) {
        String sql = "SELECT " + CERTIFICATE_COLUMNS + " FROM issued_certificate WHERE enrolee_id = ? AND request_key = ? "
                + "AND issued_at >= ? ORDER BY issued_at DESC LIMIT 1";
        return jdbc.first("read the certificates of " + enroleeId, sql, Store::certificate, enroleeId, requestKey, since);
    }

    /** Whether the Enrolee was issued any certificate at or after {@code since}. */
    public boolean issuedAfter(String enroleeId, Instant since) {
        return jdbc.first("read the certificates of " + enroleeId, "SELECT 1 FROM issued_certificate WHERE enrolee_id = ? AND issued_at >= ? LIMIT 1",
                rs -> true, enroleeId, since).isPresent();
    }

    // --- Requests waiting for an operator (deferred issuance) --------------------------------

    private static void insertHeld(Connection c, HeldRequest r) throws SQLException {
        Jdbc.update(c, "INSERT INTO pending_request (id, enrolee_id, label, reenrol, csr_hash, request_key, csr, status, created_at, "
                + "renews_serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", r.id(), r.enroleeId(), r.label(), r.reenrol(), r.csrHash(),
                r.requestKey(), r.csr(), r.status(), r.createdAt(), r.renewsSerial().orElse(null));
    }

    /**
     * The Enrolee's newest request held since {@code since} (its last instruction) that asked for
     * exactly this: by {@code requestKey}, or for requests held before that was recorded, by the
     * DER's hash.
     */
    public Optional<HeldRequest> heldRequest(String enroleeId, String requestKey, String csrHash, Instant since) {
        return selectHeld("WHERE enrolee_id = ? AND (request_key = ? OR csr_hash = ?) AND created_at >= ? ORDER BY created_at DESC",
                enroleeId, requestKey, csrHash, since).stream().findFirst();
    }

    /** The Enrolee's newest held request since {@code since}, whatever it asked for. */
    public Optional<HeldRequest> latestHeldRequest(String enroleeId, Instant since) {
        return selectHeld("WHERE enrolee_id = ? AND created_at >= ? ORDER BY created_at DESC", enroleeId, since).stream().findFirst();
    }

    public Optional<HeldRequest> heldRequest(String id) {
        return selectHeld("WHERE id = ?", id).stream().findFirst();
    }

    /** Held requests, oldest first; with {@code status}, only those. */
    public List<HeldRequest> heldRequests(Optional<HeldRequest.Status> status) {
        return status.isPresent() ? selectHeld("WHERE status = ? ORDER BY created_at", status.get()) : selectHeld("ORDER BY created_at");
    }

    /**
     * Decides a held request, once: only a PENDING request changes, so two operators (or two
     * nodes) approving at once decide it once. False when it was no longer pending.
     */
    public boolean decideRequest(String id, HeldRequest.Status status, String reason, String serialHex, Instant now) {
        return jdbc.update("decide request " + id, "UPDATE pending_request SET status = ?, reason = ?, serial = ?, decided_at = ? "
                + "WHERE id = ? AND status = ?", status, reason, serialHex, now, id, HeldRequest.Status.PENDING) == 1;
    }

    /** Approval failed to sign or record: the request is pending again (only if it is still that approval's). */
    public void reopenRequest(String id, String serialHex) {
        jdbc.update("reopen request " + id, "UPDATE pending_request SET status = ?, serial = NULL, decided_at = NULL WHERE id = ? AND serial = ?",
                HeldRequest.Status.PENDING, id, serialHex);
    }

    /**
     * SCEP (RFC 8894 3.3.3): the request held for approval that a PKCSReq signed with the key of
     * SHA-256 {@code signerKey} (hex of its SubjectPublicKeyInfo) in transaction
     * {@code transactionId} became, for the CertPoll that names them again. Kept once: a repeat of
     * the same transaction keeps the first record.
     */
    public void saveScepTransaction(String signerKey, String transactionId, String requestId, Instant now) {
        jdbc.update("record SCEP transaction " + transactionId, "INSERT INTO scep_transaction (signer_key, transaction_id, request_id, "
                + "created_at) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM scep_transaction WHERE signer_key = ? AND transaction_id = ?)",
                signerKey, transactionId, requestId, now, signerKey, transactionId);
    }

    /** The held request a SCEP transaction of this signer key became ({@link #saveScepTransaction}). */
    public Optional<HeldRequest> scepHeldRequest(String signerKey, String transactionId) {
        return jdbc.first("read SCEP transaction " + transactionId, "SELECT request_id FROM scep_transaction WHERE signer_key = ? "
                + "AND transaction_id = ?", rs -> rs.getString(1), signerKey, transactionId).flatMap(this::heldRequest);
    }

    private List<HeldRequest> selectHeld(String where, Object... params) {
        String sql = "SELECT id, enrolee_id, label, reenrol, csr_hash, request_key, csr, status, reason, serial, created_at, decided_at, "
                + "renews_serial FROM pending_request " + where;
        return jdbc.query("read held requests", sql, rs -> new HeldRequest(rs.getString(1), rs.getString(2), rs.getString(3),
                rs.getBoolean(4), Optional.ofNullable(rs.getString(13)), rs.getString(5), rs.getString(6), rs.getBytes(7),
                HeldRequest.Status.valueOf(rs.getString(8)), Optional.ofNullable(rs.getString(9)), Optional.ofNullable(rs.getString(10)),
                instant(rs, 11), Jdbc.optionalInstant(rs, 12)), params);
    }

    /** How many certificates this Enrolee was issued after {@code since}: the input of per-Enrolee rate limits. */
    public int issuedSince(String enroleeId, Instant since) {
        return jdbc.first("count the certificates of " + enroleeId, "SELECT COUNT(*) FROM issued_certificate WHERE enrolee_id = ? AND issued_at > ?",
                rs -> rs.getInt(1), enroleeId, since).orElseThrow();
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
            params.add(st);
        });
        filter.expiresBefore().ifPresent(t -> {
            sql.append(" AND not_after < ?");
            params.add(t);
        });
        sql.append(" ORDER BY issued_at, serial");
        return jdbc.query("read certificates", sql.toString(), Store::certificate, params.toArray());
    }

    // --- CRLs --------------------------------------------------------------------------------

    /** The newest CRL any node signed for the CA key {@code caKey} (its configured name), if one was. */
    public Optional<StoredCrl> latestCrl(String caKey) {
        return jdbc.first("read the latest CRL of CA key " + caKey,
                "SELECT crl_number, this_update, next_update, der FROM crl WHERE ca_key = ? ORDER BY crl_number DESC LIMIT 1",
                rs -> new StoredCrl(rs.getLong(1), instant(rs, 2), instant(rs, 3), rs.getBytes(4)), caKey);
    }

    /**
     * Keeps a newly signed CRL of the CA key {@code caKey}. Returns false when another node stored
     * a CRL of that key with the same number first: the caller signs again with a higher number.
     */
    public boolean saveCrl(String caKey, StoredCrl crl) {
        try {
            return jdbc.withConnection("save CRL " + crl.number() + " of CA key " + caKey, c -> {
                Jdbc.update(c, "INSERT INTO crl (ca_key, crl_number, this_update, next_update, der) VALUES (?, ?, ?, ?, ?)",
                        caKey, crl.number(), crl.thisUpdate(), crl.nextUpdate(), crl.der());
                dialect.makeDurable(c);
                return true;
            });
        } catch (DuplicateException e) {
            return false;
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
            tx.insert(insert, ps -> Jdbc.bind(ps, serialHex, caKey, notBefore, notAfter, der));
            tx.append(new AuditEvent.Draft(at, "ocsp.responder.certified", "gateway", "serial:" + serialHex,
                    "caKey=" + caKey + " notAfter=" + notAfter));
            return null;
        });
    }

    /** The DER of the responder certificates of {@code caKey} that are still valid at {@code now}, latest notAfter first. */
    public List<byte[]> responderCertificates(String caKey, Instant now) {
        return jdbc.query("read the OCSP responder certificates of CA key " + caKey,
                "SELECT der FROM ocsp_responder_certificate WHERE ca_key = ? AND not_after > ? ORDER BY not_after DESC LIMIT 10",
                rs -> rs.getBytes(1), caKey, now);
    }

    // --- Audit log ---------------------------------------------------------------------------

    private static final String AUDIT_PAGE =
            "SELECT seq, at, type, actor, subject, detail, prev_hash, hash FROM audit_event WHERE seq > ? ORDER BY seq LIMIT ?";

    /** Walks the whole audit log in order and reports the first broken link, if any. */
    public AuditChain.Verification verifyAuditChain() {
        AuditChain chain = new AuditChain();
        return jdbc.withConnection("read the audit log", c -> {
            // Pages of 1000, so a long log is never held in memory at once.
            long after = 0;
            while (true) {
                List<AuditEvent> page = Jdbc.query(c, AUDIT_PAGE, Store::auditEvent, after, 1000);
                if (page.isEmpty()) {
                    return chain.result();
                }
                for (AuditEvent e : page) {
                    if (!chain.accept(e)) {
                        return chain.result();
                    }
                    after = e.seq();
                }
            }
        });
    }

    /** Audit events with seq greater than {@code afterSeq}, in order, at most {@code limit}. */
    public List<AuditEvent> auditEvents(long afterSeq, int limit) {
        return jdbc.query("read the audit log", AUDIT_PAGE, Store::auditEvent, afterSeq, limit);
    }

    private static AuditEvent auditEvent(ResultSet rs) throws SQLException {
        return new AuditEvent(rs.getLong(1), instant(rs, 2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6),
                rs.getString(7), rs.getString(8));
    }

    /** A cheap round trip for readiness checks. */
    public void ping() {
        jdbc.query("reach the database", "SELECT 1", rs -> rs.getInt(1));
    }

    @Override
    public void close() {
        groupCommit.close();
        dataSource.close();
    }
}
