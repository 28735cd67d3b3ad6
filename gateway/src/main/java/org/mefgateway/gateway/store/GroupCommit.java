package org.mefgateway.gateway.store;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for the ledger and the audit log: one writer thread takes every write waiting in
 * its queue and commits them in a single transaction, so many concurrent issuances share one
 * durable commit (one fsync) instead of paying one each. A write's future completes only after
 * that commit (and, on H2, after the data is synced to disk): callers hand out a certificate only
 * then.
 *
 * <p>A batch is first tried the cheap way: the ledger inserts of all its writes as one JDBC batch,
 * then its audit events as another, then commit. If a write breaks a uniqueness rule (a serial that already exists, which
 * 127 random bits make practically impossible) the batch is rolled back and run again carefully,
 * each write under its own savepoint, so that write fails alone with {@link DuplicateException}
 * while the others commit. Audit events are appended to the chain in the same transaction as the
 * change they describe, after the head the previous batch left (on H2, where nothing else writes;
 * otherwise read from the table). When another node appended to the chain first, or the database reports a
 * serialization failure, the whole batch is retried on a fresh transaction.
 */
final class GroupCommit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
    private static final int MAX_BATCH = 512;
    private static final int ATTEMPTS = 8;

    /** One write, run inside the batch's transaction. */
    interface Work<T> {
        T apply(Tx tx) throws SQLException;
    }

    private record Pending<T>(String what, Work<T> work, CompletableFuture<T> done) {
    }

    private static final Pending<Void> STOP = new Pending<>("stop", tx -> null, new CompletableFuture<>());

    private final DataSource dataSource;
    private final Dialect dialect;
    private final BlockingQueue<Pending<?>> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final Timer commitTime;
    private final DistributionSummary batchSize;
    private volatile boolean closed;
    /**
     * The audit chain's head as the last committed batch left it (writer thread only), so a batch
     * need not read it again; -1 when unknown. Kept only where this process is the database's sole
     * writer (H2): with several nodes appending, a head kept would be stale after every batch of
     * another node and cost a retry ({@link ChainHeadMoved}) instead of saving a read.
     */
    private long headSeq = -1;
    private String headHash;

    GroupCommit(DataSource dataSource, Dialect dialect, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.commitTime = Timer.builder("mef.store.commit").description("one group commit of ledger and audit writes, to durable")
                .publishPercentileHistogram().register(meters);
        this.batchSize = DistributionSummary.builder("mef.store.commit.batch.size").description("writes sharing one group commit")
                .publishPercentileHistogram().register(meters);
        this.writer = new Thread(this::run, "mef-ledger-writer");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    <T> CompletableFuture<T> submit(String what, Work<T> work) {
        CompletableFuture<T> done = new CompletableFuture<>();
        if (closed) {
            done.completeExceptionally(new StoreException("cannot " + what + ": the store is closed"));
            return done;
        }
        queue.add(new Pending<>(what, work, done));
        return done;
    }

    private void run() {
        List<Pending<?>> batch = new ArrayList<>();
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            queue.drainTo(batch, MAX_BATCH - 1);
            boolean stop = batch.remove(STOP);
            if (!batch.isEmpty()) {
                commit(batch);
            }
            batch.clear();
            if (stop) {
                return;
            }
        }
    }

    private void commit(List<Pending<?>> batch) {
        Timer.Sample sample = Timer.start();
        boolean careful = false;
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                List<Runnable> completions = new ArrayList<>();
                Tx.Mark committed;
                try (Tx tx = new Tx(c, careful, headSeq, headHash)) {
                    headSeq = -1;  // unknown until this batch commits
                    for (Pending<?> p : batch) {
                        completions.add(careful ? runCarefully(tx, p) : run(tx, p));
                    }
                    tx.flush();
                    c.commit();
                    committed = tx.mark();
                } catch (SQLException | RuntimeException e) {
                    rollbackQuietly(c);
                    throw e;
                }
                try {
                    dialect.makeDurable(c);
                } catch (SQLException e) {
                    // Committed but maybe not on disk: report failure, never retry (that would write twice).
                    failAll(batch, e);
                    return;
                }
                if (dialect.soleWriter()) {
                    headSeq = committed.seq();
                    headHash = committed.hash();
                }
                completions.forEach(Runnable::run);
                batchSize.record(batch.size());
                sample.stop(commitTime);
                return;
            } catch (DuplicateInBatch e) {
                careful = true;  // find out which write it was; the others still commit
            } catch (ChainHeadMoved | SQLException e) {
                boolean retryable = e instanceof ChainHeadMoved || Jdbc.isSerializationFailure(e);
                if (!retryable || attempt >= ATTEMPTS) {
                    failAll(batch, e);
                    return;
                }
                LOG.debug("group commit of {} writes retried ({}): {}", batch.size(), attempt, e.getMessage());
            } catch (RuntimeException e) {
                failAll(batch, e);
                return;
            }
        }
    }

    /** The cheap way: a uniqueness violation aborts the whole attempt (see {@link #runCarefully}). */
    private static <T> Runnable run(Tx tx, Pending<T> p) throws SQLException {
        T result = p.work().apply(tx);
        return () -> p.done().complete(result);
    }

    /** Runs one write under a savepoint; returns what completes its future once the batch is durable. */
    private static <T> Runnable runCarefully(Tx tx, Pending<T> p) throws SQLException {
        Savepoint savepoint = tx.connection().setSavepoint();
        Tx.Mark mark = tx.mark();
        try {
            T result = p.work().apply(tx);
            return () -> p.done().complete(result);
        } catch (SQLException e) {
            if (!Jdbc.isIntegrityViolation(e)) {
                throw e;
            }
            // Only this write broke a uniqueness rule: undo it alone, the others still commit.
            tx.connection().rollback(savepoint);
            tx.reset(mark);
            DuplicateException failure = new DuplicateException("cannot " + p.what() + ": it would duplicate an existing entry");
            return () -> p.done().completeExceptionally(failure);
        }
    }

    private static void failAll(List<Pending<?>> open, Exception e) {
        StoreException failure = e instanceof StoreException s ? s
                : new StoreException("cannot commit " + open.size() + " ledger writes: " + e.getMessage(), e);
        LOG.error("group commit failed: {}", failure.getMessage());
        open.forEach(p -> p.done().completeExceptionally(failure));
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        } catch (SQLException ignored) {
            // the connection is broken; Hikari discards it
        }
    }

    @Override
    public void close() {
        closed = true;
        queue.add(STOP);
        try {
            writer.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Pending<?> left;
        while ((left = queue.poll()) != null) {
            left.done().completeExceptionally(new StoreException("cannot " + left.what() + ": the store is closed"));
        }
    }

    /** Another writer (another node) appended to the audit chain since this batch read its head. */
    static final class ChainHeadMoved extends RuntimeException {
        ChainHeadMoved(SQLException cause) {
            super("the audit chain head moved: " + cause.getMessage(), cause, false, false);
        }
    }

    /** A write of a batch run the cheap way broke a uniqueness rule. */
    private static final class DuplicateInBatch extends RuntimeException {
        DuplicateInBatch(SQLException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /**
     * One batch's transaction as the writes see it. Inserts (and deletes) that cannot affect what a
     * write returns go through {@link #insert}: batched until {@link #flush} in the cheap mode, executed at once
     * (so a duplicate is attributed to its write) in the careful mode. Audit events are chained
     * after the head read once and inserted together at {@link #flush}.
     */
    static final class Tx implements AutoCloseable {
        record Mark(long seq, String hash, int pending) {
        }

        /** Sets the parameters of one insert. */
        interface Binder {
            void bind(PreparedStatement ps) throws SQLException;
        }

        private final Connection c;
        private final boolean careful;
        private final Map<String, PreparedStatement> statements = new LinkedHashMap<>();
        private final Map<String, PreparedStatement> batched = new LinkedHashMap<>();
        private final List<AuditEvent> pendingAudit = new ArrayList<>();
        private long headSeq;
        private String headHash;

        /** {@code headSeq} -1: the chain's head is read from the table when the first event is appended. */
        Tx(Connection c, boolean careful, long headSeq, String headHash) {
            this.c = c;
            this.careful = careful;
            this.headSeq = headSeq;
            this.headHash = headHash;
        }

        /** For statements whose result a write needs; batched inserts are executed first, to keep order. */
        Connection connection() throws SQLException {
            flushInserts();
            return c;
        }

        void insert(String sql, Binder binder) throws SQLException {
            PreparedStatement ps = statement(sql);
            binder.bind(ps);
            if (careful) {
                ps.executeUpdate();
            } else {
                ps.addBatch();
                batched.put(sql, ps);
            }
        }

        private PreparedStatement statement(String sql) throws SQLException {
            PreparedStatement ps = statements.get(sql);
            if (ps == null) {
                ps = c.prepareStatement(sql);
                statements.put(sql, ps);
            }
            return ps;
        }

        /** Chains an event after the current head; it is inserted with the batch's others at {@link #flush}. */
        AuditEvent append(AuditEvent.Draft draft) throws SQLException {
            if (headSeq < 0) {
                try (PreparedStatement ps = c.prepareStatement("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1");
                     ResultSet rs = ps.executeQuery()) {
                    headSeq = rs.next() ? rs.getLong(1) : 0;
                    headHash = headSeq == 0 ? AuditEvent.GENESIS : rs.getString(2);
                }
            }
            AuditEvent e = draft.chainedAfter(headSeq, headHash);
            pendingAudit.add(e);
            headSeq = e.seq();
            headHash = e.hash();
            return e;
        }

        Mark mark() {
            return new Mark(headSeq, headHash, pendingAudit.size());
        }

        void reset(Mark mark) {
            headSeq = mark.seq();
            headHash = mark.hash();
            pendingAudit.subList(mark.pending(), pendingAudit.size()).clear();
        }

        private void flushInserts() throws SQLException {
            for (PreparedStatement ps : batched.values()) {
                try {
                    ps.executeBatch();
                } catch (SQLException ex) {
                    if (integrityViolation(ex)) {
                        throw new DuplicateInBatch(ex);
                    }
                    throw ex;
                }
            }
            batched.clear();
        }

        /** Executes the batched inserts, then inserts the audit events: just before the commit. */
        void flush() throws SQLException {
            flushInserts();
            if (pendingAudit.isEmpty()) {
                return;
            }
            PreparedStatement ps = statement("INSERT INTO audit_event (seq, at, type, actor, subject, detail, prev_hash, hash) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
            for (AuditEvent e : pendingAudit) {
                ps.setLong(1, e.seq());
                ps.setObject(2, OffsetDateTime.ofInstant(e.at(), ZoneOffset.UTC));
                ps.setString(3, e.type());
                ps.setString(4, e.actor());
                ps.setString(5, e.subject());
                ps.setString(6, e.detail());
                ps.setString(7, e.prevHash());
                ps.setString(8, e.hash());
                ps.addBatch();
            }
            try {
                ps.executeBatch();
            } catch (SQLException ex) {
                // A seq already taken: another node appended since this batch read the head.
                if (integrityViolation(ex)) {
                    throw new ChainHeadMoved(ex);
                }
                throw ex;
            }
        }

        /** Batch failures may carry the constraint violation as the next exception (PostgreSQL's BatchUpdateException). */
        private static boolean integrityViolation(SQLException ex) {
            return Jdbc.isIntegrityViolation(ex) || (ex.getNextException() != null && Jdbc.isIntegrityViolation(ex.getNextException()));
        }

        @Override
        public void close() throws SQLException {
            for (PreparedStatement ps : statements.values()) {
                ps.close();
            }
        }
    }
}
