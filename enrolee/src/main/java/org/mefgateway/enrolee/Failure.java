package org.mefgateway.enrolee;

/**
 * Why an enrolment stopped, and the CLI exit code an operator or a script acts on.
 * The codes are part of the CLI contract (see README.md); do not renumber them.
 */
public enum Failure {
    /** The MEF answered 4xx: it refused the request; the reason is the server's text. */
    REFUSED(3),
    /** TLS failure, unreachable MEF, 5xx, or a response that is not what the EST contract says. */
    UNAVAILABLE(4),
    /** What the MEF returned is well-formed but failed this Enrolee's checks; nothing was written. */
    VERIFICATION(5),
    /**
     * The MEF accepted the request but deferred issuance (202 + Retry-After) beyond the wait budget;
     * the request is kept in the pending file so that running the same command again resumes it.
     */
    PENDING(6),
    /** {@code renew}: the certificate is not yet inside its renewal window; nothing was sent. */
    NOT_DUE(7);

    private final int exitCode;

    Failure(int exitCode) {
        this.exitCode = exitCode;
    }

    /** The CLI exit code for this failure. */
    public int exitCode() {
        return exitCode;
    }
}
