-- Enrolees an operator registered: the MEF's instruction to enrol (TS-0003 8.3.9.7).
CREATE TABLE enrolee (
    id                    VARCHAR(128)  NOT NULL PRIMARY KEY,
    bootstrap_fingerprint CHAR(64)      NOT NULL UNIQUE,  -- SHA-256 of the bootstrap certificate, hex
    cert_subject_type     SMALLINT      NOT NULL,         -- 1 Node-ID, 2 CSE-ID, 3 AE-ID
    cert_subject_id       VARCHAR(1024) NOT NULL,
    suids                 VARCHAR(64)   NOT NULL,         -- comma-separated m2m:suid values
    command               VARCHAR(32)   NOT NULL,         -- CERT_PROV or NO_MORE_COMMANDS
    registered_at         TIMESTAMP WITH TIME ZONE NOT NULL
);

-- challengePasswords handed out in csrattrs. Only their SHA-256 is kept: a copy of the table
-- does not let anyone enrol.
CREATE TABLE challenge (
    hash       CHAR(64)     NOT NULL PRIMARY KEY,
    enrolee_id VARCHAR(128) NOT NULL REFERENCES enrolee(id) ON DELETE CASCADE,
    issued_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at    TIMESTAMP WITH TIME ZONE
);

-- Every certificate the CA signed, committed before it is returned to anyone.
CREATE TABLE issued_certificate (
    serial     VARCHAR(40)   NOT NULL PRIMARY KEY,        -- hex, unique by constraint
    enrolee_id VARCHAR(128)  NOT NULL,
    profile    VARCHAR(64)   NOT NULL,
    subject    VARCHAR(1024) NOT NULL,
    sans       VARCHAR(2048) NOT NULL,
    not_before TIMESTAMP WITH TIME ZONE NOT NULL,
    not_after  TIMESTAMP WITH TIME ZONE NOT NULL,
    status     VARCHAR(16)   NOT NULL,                    -- ISSUED (REVOKED comes with revocation)
    issued_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    der        BYTEA         NOT NULL
);
CREATE INDEX issued_certificate_enrolee ON issued_certificate(enrolee_id);
