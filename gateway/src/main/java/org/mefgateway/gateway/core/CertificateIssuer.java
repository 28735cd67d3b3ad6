package org.mefgateway.gateway.core;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.math.BigInteger;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.Serials;
import org.mefgateway.gateway.store.DuplicateException;
import org.mefgateway.gateway.store.IssuanceReservation;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.Decision;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs a decided template and records the certificate durably before anyone sees it (TS-0003
 * steps 10-12). The TBSCertificate is built and encoded by {@link #prepare} in the worker step that
 * made the decision, signed on the HSM signer's own pool, and recorded in the ledger's group
 * commit; a serial that collides with one in the ledger is signed again under a new one.
 */
final class CertificateIssuer {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateIssuer.class);
    /** Signing attempts of an arriving request: 127 random bits collide practically never. */
    static final int SERIAL_ATTEMPTS = 3;

    private final Store store;
    private final WorkerExecutor cpuWorkers;
    private final EnrolmentSteps steps;
    private final MeterRegistry meters;
    private final Clock clock;

    CertificateIssuer(Store store, WorkerExecutor cpuWorkers, EnrolmentSteps steps, MeterRegistry meters, Clock clock) {
        this.store = store;
        this.cpuWorkers = cpuWorkers;
        this.steps = steps;
        this.meters = meters;
        this.clock = clock;
    }

    /** The TBSCertificate of a decided template: call it on a {@code cpu} worker, in the step that decided. */
    CertificateAuthority.ToBeSigned prepare(CertificateAuthority ca, CertificateTemplate template, BigInteger serial) {
        steps.ran(EnrolmentSteps.Step.BUILD_CERTIFICATE);
        return ca.prepare(template, serial);
    }

    /**
     * Signs and records {@code tbs}, then under new serials while the ledger finds its serial
     * taken, up to {@code attempts} in all; the record frees the claim's place under the issuance
     * limit ({@code reservation}). {@code requestKey} lets a repeat of the request find it.
     */
    Future<IssuedCertificate> issue(CertificateAuthority ca, String enroleeId, Decision.Issue issue, Operation operation,
                                    Optional<String> requestKey, Optional<IssuanceReservation> reservation, CertificateAuthority.ToBeSigned tbs,
                                    int attempts) {
        CertificateTemplate t = issue.template();
        BigInteger serial = tbs.serial();
        Future<byte[]> signed;
        try {
            signed = Future.fromCompletionStage(ca.sign(tbs));
        } catch (RuntimeException e) {
            signed = Future.failedFuture(e); // the caller releases the claim
        }
        return signed
                .compose(der -> {
                    IssuedCertificate recorded = new IssuedCertificate(serial.toString(16), enroleeId, issue.profile(),
                            t.subject(), t.subjectAltNames().stream().map(Object::toString).collect(Collectors.joining(",")),
                            t.notBefore(), t.notAfter(), IssuedCertificate.Status.ISSUED, clock.instant(), der, requestKey);
                    // Group commit: completes once the certificate and its audit event (and, for a
                    // first enrolment, the command's result OK) are durable.
                    CompletionStage<Void> record = store.recordIssuance(recorded, reservation, operation != Operation.REENROL);
                    return Future.fromCompletionStage(record).map(committed -> {
                        LOG.info("issued enrolee={} profile={} serial={} subject={}", enroleeId, issue.profile(),
                                serial.toString(16), LogText.safe(t.subject()));
                        Counter.builder("mef.certificates.issued")
                                .description("Certificates signed and durably recorded in the ledger, by profile and EST operation "
                                        + "(an approved held request counts under the operation it arrived with)")
                                .tags("profile", issue.profile(), "operation", operation.metricName())
                                .register(meters)
                                .increment();
                        return recorded;
                    });
                })
                .recover(e -> {
                    // If serials do collide, the ledger's key says so and the certificate with the
                    // duplicate serial is discarded, never returned.
                    if (e instanceof DuplicateException && attempts > 1) {
                        LOG.warn("serial {} already in the ledger; issuing again with a new serial", serial.toString(16));
                        return cpuWorkers.executeBlocking(() -> prepare(ca, t, Serials.next()), false)
                                .compose(next -> issue(ca, enroleeId, issue, operation, requestKey, reservation, next, attempts - 1));
                    }
                    return Future.failedFuture(e);
                });
    }
}
