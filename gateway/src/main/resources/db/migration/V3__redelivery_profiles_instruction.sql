-- What a request asks for, as the gateway recognises a repeat of it (Enrolee + this key): SHA-256
-- over the CSR's public key, subject and subjectAltNames. A client that re-signs its CSR on a retry
-- (ECDSA signatures differ every time) asks for the same thing; the DER's hash cannot tell.
-- NULL on rows written before this version and on server-generated keys (never redelivered).
ALTER TABLE issued_certificate ADD COLUMN request_key CHAR(64);
CREATE INDEX issued_certificate_request ON issued_certificate(enrolee_id, request_key);
ALTER TABLE pending_request ADD COLUMN request_key CHAR(64);
-- For a held re-enrolment: the serial of the certificate it renews, so that the approval decides
-- it as the re-enrolment it is.
ALTER TABLE pending_request ADD COLUMN renews_serial VARCHAR(40);
CREATE INDEX pending_request_request ON pending_request(enrolee_id, request_key);

-- The profiles (EST labels; 'default' = no label) a registration may use, comma-separated, the
-- one its CERT_PROV command names first. '*' = any: registrations made before this version keep
-- what they could do until an operator instructs them with profiles.
ALTER TABLE enrolee ADD COLUMN profiles VARCHAR(2048) DEFAULT '*' NOT NULL;
-- When the operator last instructed the Enrolee (registration counts): requests and certificates
-- from before it are not repeats of what the new instruction asks for.
ALTER TABLE enrolee ADD COLUMN instructed_at TIMESTAMP WITH TIME ZONE;
UPDATE enrolee SET instructed_at = registered_at;
ALTER TABLE enrolee ALTER COLUMN instructed_at SET NOT NULL;
