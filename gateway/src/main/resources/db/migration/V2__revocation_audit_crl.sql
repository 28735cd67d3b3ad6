-- Revocation (RFC 5280 5.3.1 reason codes). status becomes REVOKED; a revocation is never undone.
ALTER TABLE issued_certificate ADD COLUMN revoked_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE issued_certificate ADD COLUMN revocation_reason SMALLINT;
CREATE INDEX issued_certificate_status ON issued_certificate(status);
CREATE INDEX issued_certificate_not_after ON issued_certificate(not_after);

-- The audit log, hash-chained: hash = SHA-256 over this event's fields and prev_hash, so removing
-- or altering an event breaks the chain at that point. seq is max+1 taken in the writing
-- transaction (no sequence, so distributed PostgreSQL-compatible engines accept it); the primary
-- key makes two nodes appending at once collide, and the loser retries on the new head.
CREATE TABLE audit_event (
    seq       BIGINT        NOT NULL PRIMARY KEY,
    at        TIMESTAMP WITH TIME ZONE NOT NULL,
    type      VARCHAR(64)   NOT NULL,
    actor     VARCHAR(256)  NOT NULL,
    subject   VARCHAR(256)  NOT NULL,
    detail    VARCHAR(4096) NOT NULL,
    prev_hash CHAR(64)      NOT NULL,
    hash      CHAR(64)      NOT NULL
);

-- CRLs the CA signed, newest = highest number (RFC 5280 5.2.3: monotonically increasing). Every
-- node serves the newest one, whichever node signed it.
CREATE TABLE crl (
    crl_number  BIGINT NOT NULL PRIMARY KEY,
    this_update TIMESTAMP WITH TIME ZONE NOT NULL,
    next_update TIMESTAMP WITH TIME ZONE NOT NULL,
    der         BYTEA  NOT NULL
);
