package org.mefgateway.gateway.store;

import java.time.Instant;
import java.util.Optional;

/**
 * A request held for operator approval (RFC 7030 4.2.3). The client repeats the same request,
 * often re-signed (ECDSA signatures differ every time); it is matched by {@code requestKey} (the
 * Enrolee's key and names) and answered from {@code status}.
 *
 * @param id        random id the operator approves or rejects by
 * @param enroleeId who asked
 * @param label     the EST label it arrived on ("" = default profile)
 * @param reenrol   simplereenroll (true) or simpleenroll
 * @param renewsSerial for a re-enrolment, the serial of the certificate it renews (empty on rows
 *                  held before it was recorded)
 * @param csrHash   SHA-256 (hex) of the CSR's DER, as first received
 * @param requestKey what the request asks for (key, subject, subjectAltNames), see {@code RequestKey}
 * @param csr       the CSR's DER, signed at approval
 * @param status    PENDING, then APPROVED (with serial) or REJECTED (with reason)
 * @param reason    the operator's reason for a rejection
 * @param serialHex the certificate signed at approval
 * @param createdAt when the request was first held
 * @param decidedAt when the operator decided
 */
public record HeldRequest(String id, String enroleeId, String label, boolean reenrol, Optional<String> renewsSerial,
                             String csrHash, String requestKey, byte[] csr,
                             Status status, Optional<String> reason, Optional<String> serialHex, Instant createdAt,
                             Optional<Instant> decidedAt) {

    public enum Status { PENDING, APPROVED, REJECTED }

    public HeldRequest {
        csr = csr.clone();
    }

    @Override
    public byte[] csr() {
        return csr.clone();
    }
}
