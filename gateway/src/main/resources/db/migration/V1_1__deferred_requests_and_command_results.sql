-- Requests a profile holds for operator approval (RFC 7030 4.2.3: 202 + Retry-After). The
-- client repeats the same CSR; it is recognised by its SHA-256 and gets the certificate signed at
-- approval (serial), or the operator's refusal (reason).
CREATE TABLE pending_request (
    id         CHAR(32)      NOT NULL PRIMARY KEY,        -- random, hex
    enrolee_id VARCHAR(128)  NOT NULL REFERENCES enrolee(id) ON DELETE CASCADE,
    label      VARCHAR(64)   NOT NULL,                    -- EST label ('' = default profile)
    reenrol    BOOLEAN       NOT NULL,                    -- simplereenroll (true) or simpleenroll
    csr_hash   CHAR(64)      NOT NULL,
    csr        BYTEA         NOT NULL,
    status     VARCHAR(16)   NOT NULL,                    -- PENDING, APPROVED, REJECTED
    reason     VARCHAR(1024),
    serial     VARCHAR(40),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE,
    UNIQUE (enrolee_id, csr_hash)
);

-- The outcome of the Enrolee's last CERT_PROV attempt (TS-0003 8.3.9.7 result codes).
ALTER TABLE enrolee ADD COLUMN command_result VARCHAR(32);
