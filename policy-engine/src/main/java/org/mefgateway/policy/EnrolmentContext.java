package org.mefgateway.policy;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * What the MEF knows about a request besides the CSR.
 *
 * @param label          EST label the request arrived on ("" for the default)
 * @param tlsIdentity    SHA-256 fingerprint (lower-case hex) of the authenticating TLS client certificate
 * @param enrolee        the registered Enrolee that certificate belongs to
 * @param challenge      the challenge found for the CSR's challengePassword; empty when none matches
 * @param current        on re-enrolment, the certificate being renewed; empty on a first enrolment
 * @param channelBinding base64 of the channel binding of the TLS session the CSR arrived on
 *                       (tls-exporter, RFC 9266), when the runtime can compute it
 * @param issuedLastDay  certificates issued to this Enrolee in the 24 hours before {@code now}
 * @param caNotAfter     end of the CA certificate's validity: nothing is issued beyond it
 * @param now            the decision time
 */
public record EnrolmentContext(
        String label,
        String tlsIdentity,
        RegisteredEnrolee enrolee,
        Optional<IssuedChallenge> challenge,
        Optional<CurrentCertificate> current,
        Optional<String> channelBinding,
        int issuedLastDay,
        Instant caNotAfter,
        Instant now) {
    public EnrolmentContext {
        Objects.requireNonNull(label, "label");
        Objects.requireNonNull(tlsIdentity, "tlsIdentity");
        Objects.requireNonNull(enrolee, "enrolee");
        Objects.requireNonNull(challenge, "challenge");
        Objects.requireNonNull(current, "current");
        Objects.requireNonNull(channelBinding, "channelBinding");
        if (issuedLastDay < 0) {
            throw new IllegalArgumentException("issuedLastDay must not be negative");
        }
        Objects.requireNonNull(caNotAfter, "caNotAfter");
        Objects.requireNonNull(now, "now");
    }
}
