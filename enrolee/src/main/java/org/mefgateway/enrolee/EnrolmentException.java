package org.mefgateway.enrolee;

/**
 * An enrolment that could not go on. The message is one line a person can act on;
 * {@link #failure()} says which kind of problem it is (and so the CLI exit code).
 */
public class EnrolmentException extends Exception {
    private final Failure failure;

    public EnrolmentException(Failure failure, String message) {
        super(message);
        this.failure = failure;
    }

    public EnrolmentException(Failure failure, String message, Throwable cause) {
        super(message, cause);
        this.failure = failure;
    }

    public Failure failure() {
        return failure;
    }
}
