package org.mefgateway.gateway.scep;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One count and one latency sample per SCEP request, taken when its response ends, as
 * {@code EstMetrics} does for EST: {@code mef_scep_requests_total{operation,outcome}} and the
 * histogram {@code mef_scep_request_seconds{operation,outcome}}. Both labels have small fixed
 * sets of values. The operation is GetCACaps or GetCACert, the messageType of a PKIOperation
 * (PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL; RFC 8894 3.2.1.2), {@code PKIOperation} when
 * its message was never read (shed, malformed), else {@code unknown}. The outcome is the CertRep
 * status sent ({@code success}, {@code pending}, {@code failure:<failInfo>} with RFC 8894
 * 3.2.1.4.5's names), {@code success} for GetCACaps/GetCACert, {@code rejected} for a 4xx,
 * {@code shed} for admission's 503 or 429, {@code unavailable} for any other 503 (the token or
 * the store), {@code error} for another 5xx or a response that never completed.
 */
public final class ScepMetrics {
    private static final String MESSAGE_TYPE = "mef.scep.messageType";
    private static final String CERT_REP = "mef.scep.certRep";
    private static final String SHED = "mef.scep.shed";
    static final Set<String> QUERY_OPERATIONS = Set.of("GetCACaps", "GetCACert", "PKIOperation");

    private final MeterRegistry meters;

    public ScepMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    /** The first handler of the SCEP path: starts the clock and records when the response has ended. */
    void handle(RoutingContext ctx) {
        long start = System.nanoTime();
        ctx.addEndHandler(ended -> {
            String operation = operation(ctx);
            String outcome = ended.succeeded() ? outcome(ctx) : "error";
            Counter.builder("mef.scep.requests")
                    .description("SCEP requests by operation (GetCACaps, GetCACert, the PKIOperation's messageType) and outcome "
                            + "(the CertRep status, rejected 4xx, shed 503/429, unavailable 503, error)")
                    .tags("operation", operation, "outcome", outcome)
                    .register(meters)
                    .increment();
            Timer.builder("mef.scep.request")
                    .description("Time from a SCEP request's arrival to the end of its response, by operation and outcome")
                    .tags("operation", operation, "outcome", outcome)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofSeconds(30))
                    .register(meters)
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        });
        ctx.next();
    }

    /** The PKIOperation's messageType, once its message has been read. */
    static void messageType(RoutingContext ctx, Optional<MessageType> type) {
        type.ifPresent(t -> ctx.put(MESSAGE_TYPE, t));
    }

    /** The CertRep status about to be sent. */
    static void certRep(RoutingContext ctx, ScepWire.Reply reply) {
        String status = "success";
        if (reply instanceof ScepWire.Reply.Pending) {
            status = "pending";
        } else if (reply instanceof ScepWire.Reply.Failed failed) {
            status = "failure:" + failed.failInfo().rfcName();
        }
        ctx.put(CERT_REP, status);
    }

    /** Refused by admission (503 at capacity, 429 for the client's rate), not by the token or the store. */
    static void shed(RoutingContext ctx) {
        ctx.put(SHED, true);
    }

    private static String operation(RoutingContext ctx) {
        MessageType type = ctx.get(MESSAGE_TYPE);
        if (type != null) {
            return type == MessageType.CERT_REP ? "unknown" : type.rfcName(); // a CertRep is not a request
        }
        String query = ctx.request().getParam("operation");
        return QUERY_OPERATIONS.contains(query) ? query : "unknown";
    }

    private static String outcome(RoutingContext ctx) {
        int status = ctx.response().getStatusCode();
        if (status == 200) {
            String certRep = ctx.get(CERT_REP);
            return certRep == null ? "success" : certRep;
        }
        if (Boolean.TRUE.equals(ctx.get(SHED))) {
            return "shed";
        }
        if (status == 503) {
            return "unavailable";
        }
        return status >= 400 && status < 500 ? "rejected" : "error";
    }
}
