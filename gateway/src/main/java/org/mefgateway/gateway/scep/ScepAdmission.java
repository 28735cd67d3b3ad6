package org.mefgateway.gateway.scep;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;
import org.mefgateway.gateway.ErrorResponses;
import org.mefgateway.gateway.est.TokenBuckets;

/**
 * Who gets a PKIOperation served. Anyone can sign a pkiMessage with a self-signed certificate
 * (RFC 8894 2.3: that is how a PKCSReq is signed), so an anonymous client can make the RA key
 * verify and decrypt; these bounds keep that from crowding out devices and the HSM: a
 * per-source-address token bucket (429 + Retry-After, at the request head) and at most
 * {@code maxInFlight} PKIOperations parsed, decrypted or enrolled at once (503 + Retry-After,
 * before the message is parsed). GetCACaps and GetCACert are fixed answers and are not bounded
 * here (the listener's connection cap and deadlines still apply). One instance per gateway: the
 * bound is shared by every listener SCEP is served on.
 */
public final class ScepAdmission {
    private final ScepConfig config;
    private final TokenBuckets buckets;
    private final AtomicInteger inFlight = new AtomicInteger();

    public ScepAdmission(ScepConfig config, MeterRegistry meters) {
        this.config = config;
        this.buckets = config.perClientPerSecond() == 0 ? null
                : new TokenBuckets(config.perClientPerSecond(), config.perClientBurst(), config.maxTrackedClients());
        Gauge.builder("mef.scep.in.flight", inFlight, AtomicInteger::get)
                .description("SCEP PKIOperations being parsed, decrypted with the RA key or enrolled; at most scep.maxInFlight")
                .register(meters);
    }

    /** RFC 6585 4: too many PKIOperations from this source address; Retry-After says when one more is allowed. */
    void perClient(RoutingContext ctx) {
        if (buckets != null && isPkiOperation(ctx)) {
            String client = ctx.request().remoteAddress().hostAddress();
            long wait = buckets.take(client, System.nanoTime());
            if (wait > 0) {
                long seconds = Math.max(1, (wait + 999_999_999L) / 1_000_000_000L);
                ScepMetrics.shed(ctx);
                ctx.response().putHeader("Retry-After", String.valueOf(seconds));
                ErrorResponses.send(ctx, 429, "too many SCEP PKIOperations from " + client + ": at most "
                        + config.perClientPerSecond() + " per second; retry after " + seconds + " s");
                return;
            }
        }
        ctx.next();
    }

    /**
     * Takes an in-flight slot until the response ends, or answers 503 + Retry-After while
     * {@code maxInFlight} PKIOperations are being served: before the message is parsed, so a
     * flood costs neither CMS parsing nor the RA key. Not a CertRep: the MEF is at capacity, which
     * is not the client's fault, and RFC 8894 4.3 leaves HTTP errors to HTTP.
     */
    void inFlight(RoutingContext ctx) {
        if (!isPkiOperation(ctx)) {
            ctx.next();
            return;
        }
        if (inFlight.incrementAndGet() > config.maxInFlight()) {
            inFlight.decrementAndGet();
            ScepMetrics.shed(ctx);
            ctx.response().putHeader("Retry-After", "1");
            ErrorResponses.send(ctx, 503, "the SCEP service is at capacity (" + config.maxInFlight()
                    + " PKIOperations in progress); nothing was read, retry shortly");
            return;
        }
        ctx.addEndHandler(done -> inFlight.decrementAndGet());
        ctx.next();
    }

    private static boolean isPkiOperation(RoutingContext ctx) {
        return "PKIOperation".equals(ctx.request().getParam("operation"));
    }
}
