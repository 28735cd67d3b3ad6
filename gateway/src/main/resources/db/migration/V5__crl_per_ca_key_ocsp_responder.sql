-- Which CA key signed each certificate: the SHA-1 of that key's subjectPublicKey BIT STRING, in
-- lower-case hex. It is what the certificate's authorityKeyIdentifier says (RFC 5280 4.2.1.2
-- method 1, which this CA always writes) and how an OCSP request names the issuer's key
-- (issuerKeyHash, RFC 6960 4.1.1). CRLs and OCSP answer per CA key from it. The gateway fills it in
-- for rows written before this version when it opens the store (from their DER).
ALTER TABLE issued_certificate ADD COLUMN issuer_key_id CHAR(40);

-- One CRL sequence per CA key (its hsm.keys name; 'default' for the top-level key): CRL numbers
-- increase per issuer (RFC 5280 5.2.3). Every CRL so far was signed by the default key.
CREATE TABLE ca_crl (
    ca_key      VARCHAR(128) NOT NULL,
    crl_number  BIGINT       NOT NULL,
    this_update TIMESTAMP WITH TIME ZONE NOT NULL,
    next_update TIMESTAMP WITH TIME ZONE NOT NULL,
    der         BYTEA        NOT NULL,
    PRIMARY KEY (ca_key, crl_number)
);
INSERT INTO ca_crl (ca_key, crl_number, this_update, next_update, der)
    SELECT 'default', crl_number, this_update, next_update, der FROM crl;
DROP TABLE crl;
ALTER TABLE ca_crl RENAME TO crl;

-- Delegated OCSP responder certificates (RFC 6960 4.2.2.2): each certifies the responder key of
-- one CA key (on the token beside it) for a few days and is renewed before it expires; every node
-- signs with the newest. Not Enrolees' certificates, so not in issued_certificate; each issuance
-- is audited.
CREATE TABLE ocsp_responder_certificate (
    serial     VARCHAR(40)  NOT NULL PRIMARY KEY,
    ca_key     VARCHAR(128) NOT NULL,
    not_before TIMESTAMP WITH TIME ZONE NOT NULL,
    not_after  TIMESTAMP WITH TIME ZONE NOT NULL,
    der        BYTEA        NOT NULL
);
CREATE INDEX ocsp_responder_certificate_key ON ocsp_responder_certificate(ca_key, not_after);
