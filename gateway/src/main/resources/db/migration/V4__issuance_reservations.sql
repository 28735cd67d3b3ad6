-- A place under an Enrolee's issuance limit (profile rateLimit.maxIssuancesPerDay), taken by the
-- claim that decides the limit (with the Enrolee's row locked) and held while the certificate is
-- signed: deleted in the transaction that records the certificate, which counts from then on, or
-- when the claim is given back. One left by a process that died counts only while it is younger
-- than the limit's window, so it cannot lock the Enrolee out for longer than that.
CREATE TABLE issuance_reservation (
    id          CHAR(32)     NOT NULL PRIMARY KEY,         -- random, hex
    enrolee_id  VARCHAR(128) NOT NULL REFERENCES enrolee(id) ON DELETE CASCADE,
    reserved_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX issuance_reservation_enrolee ON issuance_reservation(enrolee_id, reserved_at);
