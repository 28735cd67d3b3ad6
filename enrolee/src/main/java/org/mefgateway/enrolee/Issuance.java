package org.mefgateway.enrolee;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Sends one (re-)enrolment request and repeats exactly the same bytes while the MEF asks to wait
 * (RFC 7030 4.2.3), within a wait budget; decides whether the pending request file outlives a failure.
 *
 * <ul>
 *   <li>200: returns the certificates;</li>
 *   <li>202 + Retry-After (deferred) and 503 + Retry-After (temporarily unavailable): sleeps
 *       Retry-After (at least 1 s) and repeats the request if that stays within the budget;
 *       otherwise {@link Failure#PENDING} resp. {@link Failure#UNAVAILABLE}, pending file kept;</li>
 *   <li>429 (rate limited): {@link Failure#REFUSED} with the Retry-After in the message, pending file
 *       kept (the request was not judged, it may be repeated later);</li>
 *   <li>other 4xx: {@link Failure#REFUSED}; the request is dead, the pending file is deleted;</li>
 *   <li>other 5xx, transport failures, malformed answers: {@link Failure#UNAVAILABLE}, pending file kept.</li>
 * </ul>
 */
final class Issuance {
    private static final Duration MIN_DELAY = Duration.ofSeconds(1);

    private Issuance() {
    }

    static List<X509Certificate> request(EstClient est, String operation, byte[] csr, Duration wait, Waiting waiting,
                                         StepListener steps, Path pendingFile) throws EnrolmentException {
        Instant deadline = waiting.now().plus(wait);
        String keep = "the request is kept in " + pendingFile + "; run the same command again to resume it";
        while (true) {
            try {
                return "/simplereenroll".equals(operation) ? est.simpleReenroll(csr) : est.simpleEnroll(csr);
            } catch (EstException e) {
                int status = e.status();
                if ((status == 202 || status == 503) && e.retryAfter().isPresent()) {
                    Duration delay = e.retryAfter().get().compareTo(MIN_DELAY) < 0 ? MIN_DELAY : e.retryAfter().get();
                    Instant now = waiting.now();
                    if (!now.plus(delay).isAfter(deadline)) {
                        steps.step(7, "MEF answered " + (status == 202 ? "202 Accepted (issuance deferred" : "503 (temporarily unavailable")
                                + (e.reason().isEmpty() ? "" : ": " + e.reason()) + "); sending the same request again in "
                                + delay.toSeconds() + " s (wait budget: " + Duration.between(now, deadline).toSeconds() + " s left)");
                        sleep(waiting, delay, operation);
                        continue;
                    }
                }
                if (status >= 400 && status < 500 && status != 429) {
                    discard(pendingFile);
                    throw e;
                }
                throw e.withHint(keep);
            } catch (EnrolmentException e) {
                throw new EnrolmentException(e.failure(), e.getMessage() + "; " + keep, e);
            }
        }
    }

    /** Removes the pending file once the request has reached a final outcome. */
    static void discard(Path pendingFile) {
        try {
            Files.deleteIfExists(pendingFile);
        } catch (IOException e) {
            // Harmless: a later run would resume a finished request and get a final answer for it.
        }
    }

    private static void sleep(Waiting waiting, Duration delay, String operation) throws EnrolmentException {
        try {
            waiting.sleep(delay);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnrolmentException(Failure.UNAVAILABLE, "interrupted while waiting to repeat " + operation, e);
        }
    }
}
