package org.mefgateway.gateway.core;

/**
 * Why a request was not served, in the domain's words and independent of the protocol it came
 * by. Each edge (EST, admin, publication, later SCEP) maps a code to its own answer in one place;
 * nothing behind the edges knows HTTP statuses (after XiPKI's {@code OperationException(ErrorCode)}).
 */
public enum ErrorCode {
    /** Malformed input: bad base64, bad DER, missing or contradictory fields. */
    BAD_REQUEST,
    /** The content type is not one the operation takes. */
    UNSUPPORTED_MEDIA_TYPE,
    /** The request body is larger than the operation accepts. */
    TOO_LARGE,
    /** The CSR's signature does not verify with its own public key (no proof of possession). */
    BAD_POP,
    /** No credential, or one the MEF does not know. */
    NOT_AUTHENTICATED,
    /** Authenticated, but policy does not allow it. */
    NOT_PERMITTED,
    /** The thing asked about does not exist (an Enrolee, a held request, a label). */
    NOT_FOUND,
    /** The request contradicts the current state (already exists, no longer pending). */
    CONFLICT,
    /** Well-formed, but a value cannot be used (an admin input that fails validation). */
    INVALID,
    /** A limit on how often is reached; try again later. */
    RATE_LIMITED,
    /** The MEF cannot serve it now (HSM, store or capacity); try again later. */
    UNAVAILABLE
}
