package org.mefgateway.gateway.core;

import java.util.Optional;

/**
 * One enrolment as a protocol edge hands it to the core: who asks (authenticated), on which label,
 * for what, the CSR as the protocol carried it, and what the edge knows about the channel.
 *
 * @param csr            the CSR, unwrapped by {@link CsrBody#der} on the core's CPU step
 * @param channelBinding base64 of the tls-exporter value (RFC 9266) of the TLS session the request
 *                       came on, when the runtime can compute it
 */
public record EnrolmentRequest(Caller caller, String label, Operation operation, CsrBody csr, Optional<String> channelBinding) {

    /**
     * The CSR as the protocol carried it (EST: base64 of the DER). Unwrapping it is CPU work, so
     * the core does it on its CPU step, together with parsing.
     */
    @FunctionalInterface
    public interface CsrBody {
        /**
         * The DER of the PKCS#10 request; an {@link OperationException} with a rule id (and the code
         * and reason the client gets) when the body cannot be unwrapped.
         */
        byte[] der();
    }
}
