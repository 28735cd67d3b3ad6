package org.mefgateway.gateway.est;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;
import org.mefgateway.gateway.GatewayConfig;

/**
 * Who gets in on the EST listener, decided before any work is done: a per-client rate limit
 * (429), a bound on enrolments in flight in front of the HSM signer and the store (503), and a
 * deadline for every request (408 while its body is still arriving, 503 after). Shedding at once
 * with Retry-After keeps the queues behind it short, so an overload degrades into refusals
 * rather than into timeouts for everyone.
 */
final class Admission {
    private final Vertx vertx;
    private final GatewayConfig.Limits limits;
    private final TokenBuckets buckets;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Counter shedAtCapacity;
    private final Counter shedPerClient;

    Admission(Vertx vertx, GatewayConfig.Limits limits, MeterRegistry meters) {
        this.vertx = vertx;
        this.limits = limits;
        this.shedAtCapacity = shed(meters, "capacity");
        this.shedPerClient = shed(meters, "client_rate");
        this.buckets = limits.perClientPerSecond() == 0 ? null
                : new TokenBuckets(limits.perClientPerSecond(), limits.perClientBurst(), limits.maxTrackedClients());
    }

    /** RFC 6585 4: too many requests from this source address; Retry-After says when one more is allowed. */
    void perClient(RoutingContext ctx) {
        if (buckets != null) {
            long wait = buckets.take(ctx.request().remoteAddress().hostAddress(), System.nanoTime());
            if (wait > 0) {
                shedPerClient.increment();
                long seconds = Math.max(1, (wait + 999_999_999L) / 1_000_000_000L);
                ctx.response().putHeader("Retry-After", String.valueOf(seconds));
                ErrorResponses.send(ctx, 429, "too many requests from " + ctx.request().remoteAddress().hostAddress()
                        + ": at most " + limits.perClientPerSecond() + " per second; retry after " + seconds + " s");
                return;
            }
        }
        ctx.next();
    }

    /**
     * The request's deadline. When it passes before the response, the client gets 408 (it has
     * not finished sending) or 503 (the MEF has not finished), and the connection is closed: a
     * slow-loris body cannot hold it. Work already started may still complete (a certificate is
     * then in the ledger but was not returned, which the Enrolee's retry with a new challenge covers).
     */
    void deadline(RoutingContext ctx) {
        long timer = vertx.setTimer(limits.requestTimeout().toMillis(), t -> {
            if (ctx.response().ended() || ctx.response().closed()) {
                return;
            }
            if (!ctx.request().isEnded()) {
                ErrorResponses.sendAndClose(ctx, 408, "the request was not received within " + limits.requestTimeout().toSeconds() + " s");
            } else {
                ctx.response().putHeader("Retry-After", "1");
                ErrorResponses.sendAndClose(ctx, 503, "the request could not be served within " + limits.requestTimeout().toSeconds()
                        + " s; retry shortly");
            }
        });
        ctx.addEndHandler(done -> vertx.cancelTimer(timer));
        ctx.next();
    }

    /** At most {@code maxInFlight} enrolments at once; beyond, 503 + Retry-After before the body is read. */
    void enrolment(RoutingContext ctx) {
        if (inFlight.incrementAndGet() > limits.maxInFlight()) {
            inFlight.decrementAndGet();
            shedAtCapacity.increment();
            ctx.response().putHeader("Retry-After", "1");
            ErrorResponses.send(ctx, 503, "the CA is at capacity (" + limits.maxInFlight()
                    + " enrolments in progress); nothing was issued, retry shortly");
            return;
        }
        ctx.addEndHandler(done -> inFlight.decrementAndGet());
        ctx.next();
    }

    /** Requests turned away before any work, so an operator sees shedding apart from refusals by policy. */
    private static Counter shed(MeterRegistry meters, String reason) {
        return Counter.builder("mef.est.requests.shed")
                .description("EST requests refused before any work: capacity (est.maxInFlight enrolments in progress, 503) "
                        + "or client_rate (the source address's rate limit, 429)")
                .tag("reason", reason)
                .register(meters);
    }
}
