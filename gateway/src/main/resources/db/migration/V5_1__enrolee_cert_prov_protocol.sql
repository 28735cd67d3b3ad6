-- The certificate provisioning protocol the Enrolee's CERT_PROV command names (TS-0003 8.3.9.7,
-- certProvProtocolID 12.3.2.5: 1 = EST, 2 = SCEP). Every registration so far was instructed for EST.
-- V5_1, not V6: a later V6 of a branch in flight still applies after it.
ALTER TABLE enrolee ADD COLUMN cert_prov_protocol VARCHAR(8) DEFAULT 'EST' NOT NULL;
