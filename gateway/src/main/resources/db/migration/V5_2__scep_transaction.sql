-- SCEP (RFC 8894 3.3.3): a PKCSReq held for approval is polled with CertPoll, which carries no CSR,
-- only the same transactionID, signed with the same key. This finds the held request again by what
-- can be trusted: the SHA-256 (hex) of the signer's SubjectPublicKeyInfo, which the PKCSReq proved
-- is the CSR's key, and the transactionID.
-- V5_2, not V6: a later V6 of a branch in flight still applies after it.
CREATE TABLE scep_transaction (
    signer_key     CHAR(64)      NOT NULL,
    transaction_id VARCHAR(256)  NOT NULL,
    request_id     CHAR(32)      NOT NULL REFERENCES pending_request(id) ON DELETE CASCADE,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (signer_key, transaction_id)
);
