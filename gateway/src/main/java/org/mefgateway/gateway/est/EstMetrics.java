package org.mefgateway.gateway.est;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One count and one latency sample per EST request, taken when its response ends:
 * {@code mef_est_requests_total{operation,label,status}} and
 * {@code mef_est_request_seconds{operation,label,outcome}} (a histogram with buckets, so
 * {@code histogram_quantile} works in PromQL). Every label has a small, fixed set of values: the
 * operation is one of the EST operations, {@code command} or {@code other}; the EST label is kept
 * only if a profile serves it (anything a client made up is {@code unknown}); the status is the
 * HTTP code.
 */
public final class EstMetrics {
    static final Set<String> OPERATIONS = Set.of("cacerts", "csrattrs", "simpleenroll", "simplereenroll", "serverkeygen");
    static final String UNKNOWN_LABEL = "unknown";
    static final String NO_STATUS = "none";

    private final MeterRegistry meters;
    private final Predicate<String> servedLabel;

    /** {@code servedLabel} tells whether a profile serves an EST label now ("" is the default profile). */
    public EstMetrics(MeterRegistry meters, Predicate<String> servedLabel) {
        this.meters = meters;
        this.servedLabel = servedLabel;
    }

    MeterRegistry meters() {
        return meters;
    }

    /** The first handler of the EST router: starts the clock and records when the response has ended. */
    public void handle(RoutingContext ctx) {
        long start = System.nanoTime();
        Request request = classify(ctx.request().path(), servedLabel);
        ctx.addEndHandler(ended -> {
            // A response that did not complete (the client went away, the connection broke) is an
            // error; its status is "none" unless a status line had already been sent.
            String status = ended.succeeded() || ctx.response().headWritten() ? String.valueOf(ctx.response().getStatusCode()) : NO_STATUS;
            String outcome = ended.succeeded() ? outcome(ctx.response().getStatusCode()) : "error";
            Counter.builder("mef.est.requests")
                    .description("EST and MEF command requests, by operation, EST label (a served profile, or unknown) and HTTP status "
                            + "(none: the connection ended before a response was sent)")
                    .tags("operation", request.operation(), "label", request.label(), "status", status)
                    .register(meters)
                    .increment();
            Timer.builder("mef.est.request")
                    .description("Time from the request's arrival to the end of its response, by operation, EST label and outcome "
                            + "(success 2xx, deferred 202, refused 4xx, error 5xx or an unfinished response)")
                    .tags("operation", request.operation(), "label", request.label(), "outcome", outcome)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofSeconds(30))
                    .register(meters)
                    .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
        });
        ctx.next();
    }

    /** The operation and EST label of a request path, with bounded values. */
    record Request(String operation, String label) {
    }

    static Request classify(String path, Predicate<String> servedLabel) {
        if ("/mef/command".equals(path)) {
            return new Request("command", "");
        }
        if (path != null && path.startsWith(EstApi.EST + "/")) {
            String[] parts = path.substring(EstApi.EST.length() + 1).split("/", -1);
            if (parts.length == 1 && OPERATIONS.contains(parts[0])) {
                return new Request(parts[0], EstApi.DEFAULT_LABEL);
            }
            if (parts.length == 2 && OPERATIONS.contains(parts[1])) {
                return new Request(parts[1], servedLabel.test(parts[0]) ? parts[0] : UNKNOWN_LABEL);
            }
        }
        return new Request("other", "");
    }

    static String outcome(int status) {
        if (status == 202) {
            return "deferred";
        }
        if (status >= 500) {
            return "error";
        }
        return status >= 400 ? "refused" : "success";
    }
}
