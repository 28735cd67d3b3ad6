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
import java.util.List;
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
 * <p>Each write runs under its own savepoint, so a write that breaks a uniqueness rule (a serial
 * that already exists) fails alone with {@link DuplicateException} while the rest of the batch
 * commits. Audit events are appended to the chain in the same transaction as the change they
 * describe. When another node appended to the chain first, or the database reports a
 * serialization failure, the whole batch is retried on a fresh transaction.
 */
final class GroupCommit implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
    private static final int MAX_BATCH = 512;
    private static final int ATTEMPTS = 8;

    /** One write, run inside the batch's transaction; audit events go through {@code audit}. */
    interface Work<T> {
        T apply(Connection c, AuditAppender audit) throws SQLException;
    }

    private record Pending<T>(String what, Work<T> work, CompletableFuture<T> done) {
    }

    private static final Pending<Void> STOP = new Pending<>("stop", (c, a) -> null, new CompletableFuture<>());

    private final DataSource dataSource;
    private final Dialect dialect;
    private final BlockingQueue<Pending<?>> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private final Timer commitTime;
    private final DistributionSummary batchSize;
    private volatile boolean closed;

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
        List<Pending<?>> open = new ArrayList<>(batch);
        for (int attempt = 1; ; attempt++) {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                List<Runnable> completions = new ArrayList<>();
                try {
                    AuditAppender audit = new AuditAppender(c);
                    for (Pending<?> p : open) {
                        completions.add(runOne(c, audit, p));
                    }
                    c.commit();
                } catch (SQLException | RuntimeException e) {
                    rollbackQuietly(c);
                    throw e;
                }
                try {
                    dialect.makeDurable(c);
                } catch (SQLException e) {
                    // Committed but maybe not on disk: report failure, never retry (that would write twice).
                    failAll(open, e);
                    return;
                }
                completions.forEach(Runnable::run);
                batchSize.record(batch.size());
                sample.stop(commitTime);
                return;
            } catch (ChainHeadMoved | SQLException e) {
                boolean retryable = e instanceof ChainHeadMoved || Store.isSerializationFailure(e);
                if (retryable && attempt < ATTEMPTS) {
                    LOG.debug("group commit of {} writes retried ({}): {}", open.size(), attempt, e.getMessage());
                    continue;
                }
                failAll(open, e);
                return;
            } catch (RuntimeException e) {
                failAll(open, e);
                return;
            }
        }
    }

    /** Runs one write under a savepoint; returns what completes its future once the batch is durable. */
    private <T> Runnable runOne(Connection c, AuditAppender audit, Pending<T> p) throws SQLException {
        Savepoint savepoint = c.setSavepoint();
        AuditAppender.Head head = audit.head();
        try {
            T result = p.work().apply(c, audit);
            return () -> p.done().complete(result);
        } catch (SQLException e) {
            if (!Store.isIntegrityViolation(e)) {
                throw e;
            }
            // Only this write broke a uniqueness rule: undo it alone, the others still commit.
            c.rollback(savepoint);
            audit.reset(head);
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

    /** Appends audit events after the chain head read once per transaction. */
    static final class AuditAppender {
        record Head(long seq, String hash) {
        }

        private final Connection c;
        private Head head;

        AuditAppender(Connection c) {
            this.c = c;
        }

        Head head() throws SQLException {
            if (head == null) {
                try (PreparedStatement ps = c.prepareStatement("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1");
                     ResultSet rs = ps.executeQuery()) {
                    head = rs.next() ? new Head(rs.getLong(1), rs.getString(2)) : new Head(0, AuditEvent.GENESIS);
                }
            }
            return head;
        }

        void reset(Head to) {
            head = to;
        }

        AuditEvent append(AuditEvent.Draft draft) throws SQLException {
            Head h = head();
            AuditEvent e = draft.chainedAfter(h.seq(), h.hash());
            String sql = "INSERT INTO audit_event (seq, at, type, actor, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setLong(1, e.seq());
                ps.setObject(2, OffsetDateTime.ofInstant(e.at(), ZoneOffset.UTC));
                ps.setString(3, e.type());
                ps.setString(4, e.actor());
                ps.setString(5, e.subject());
                ps.setString(6, e.detail());
                ps.setString(7, e.prevHash());
                ps.setString(8, e.hash());
                ps.executeUpdate();
            } catch (SQLException ex) {
                if (Store.isIntegrityViolation(ex)) {
                    throw new ChainHeadMoved(ex);
                }
                throw ex;
            }
            head = new Head(e.seq(), e.hash());
            return e;
        }
    }
}
