package org.mefgateway.gateway.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;

/**
 * One entry of the hash-chained audit log. {@code hash} covers every other field including
 * {@code prevHash}, so altering an event changes its hash and removing one breaks the next
 * event's link.
 */
public record AuditEvent(long seq, Instant at, String type, String actor, String subject, String detail,
                         String prevHash, String hash) {

    /** The prevHash of the first event. */
    public static final String GENESIS = "0".repeat(64);

    /** What a caller wants recorded; the store gives it its place and hash in the chain. */
    public record Draft(Instant at, String type, String actor, String subject, String detail) {
        public Draft {
            // The database keeps microseconds at best: hash what survives a round trip.
            at = at.truncatedTo(ChronoUnit.MILLIS);
            actor = storable(clip(actor, 256));
            subject = storable(clip(subject, 256));
            detail = storable(clip(detail, 4096));
        }

        AuditEvent chainedAfter(long previousSeq, String previousHash) {
            long seq = previousSeq + 1;
            return new AuditEvent(seq, at, type, actor, subject, detail, previousHash,
                    computeHash(seq, at, type, actor, subject, detail, previousHash));
        }
    }

    /** The hash this event should have, given its fields. */
    public String expectedHash() {
        return computeHash(seq, at, type, actor, subject, detail, prevHash);
    }

    static String computeHash(long seq, Instant at, String type, String actor, String subject, String detail, String prevHash) {
        // Each field length-prefixed, so no two different events share an encoding.
        StringBuilder s = new StringBuilder();
        for (String field : new String[] {Long.toString(seq), at.toString(), type, actor, subject, detail, prevHash}) {
            s.append(field.length()).append(':').append(field).append('\n');
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    private static String clip(String s, int max) {
        String v = s == null ? "" : s;
        return v.length() <= max ? v : v.substring(0, max);
    }

    /**
     * The text as every database keeps it, so that H2 and PostgreSQL store what was hashed: a
     * refusal's detail quotes the client's CSR, which may carry a NUL (PostgreSQL refuses it in
     * text and fails the whole group commit, other clients' issuances included) or a lone
     * surrogate (no UTF-8 for it: PostgreSQL's driver stores '?', H2 the surrogate; clipping can
     * split a pair too). Both become U+FFFD, one char for one, so the clipped length holds.
     */
    private static String storable(String s) {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> out.appendCodePoint(cp == 0 || Character.getType(cp) == Character.SURROGATE ? 0xFFFD : cp));
        return out.toString();
    }
}
