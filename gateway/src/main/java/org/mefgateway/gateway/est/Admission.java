package org.mefgateway.gateway.est;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load shedding on the EST listener: at most {@code limit} requests are in the gateway at once
 * (from the request line until the response is written or the connection is gone); the next one
 * is answered at once with 503 and {@code Retry-After: 1}, before any work (no body read, no
 * database, no HSM), so under overload the admitted requests keep a bounded latency instead of
 * all of them queueing behind the HSM and the store. {@code limit} 0 admits everything.
 */
public final class Admission implements Handler<HttpServerRequest> {
    private final Handler<HttpServerRequest> next;
    private final int limit;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Counter shed;

    public Admission(Handler<HttpServerRequest> next, int limit, MeterRegistry meters) {
        this.next = next;
        this.limit = limit;
        this.shed = Counter.builder("mef.est.requests.shed")
                .description("EST requests refused with 503 + Retry-After because est.maxInFlight requests were in flight")
                .register(meters);
    }

    @Override
    public void handle(HttpServerRequest request) {
        if (limit <= 0) {
            next.handle(request);
            return;
        }
        if (inFlight.incrementAndGet() > limit) {
            inFlight.decrementAndGet();
            shed.increment();
            request.response().setStatusCode(503).putHeader("Retry-After", "1")
                    .putHeader("Content-Type", "text/plain; charset=utf-8")
                    .end("the MEF is busy (" + limit + " requests in flight); nothing was done, retry shortly\n");
            return;
        }
        AtomicBoolean released = new AtomicBoolean();
        Handler<Void> release = v -> {
            if (released.compareAndSet(false, true)) {
                inFlight.decrementAndGet();
            }
        };
        request.response().endHandler(release);
        request.response().closeHandler(release);
        next.handle(request);
    }
}
