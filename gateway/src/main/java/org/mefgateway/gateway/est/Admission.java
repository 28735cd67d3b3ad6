package org.mefgateway.gateway.est;

import org.mefgateway.gateway.ErrorResponses;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.mefgateway.gateway.GatewayConfig;

/**
 * Who gets in on the EST listener, decided before any work is done: a per-client rate limit
 * (429), a deadline for every request (408 while its body is being read, 503 otherwise), and for
 * an enrolment, once its client certificate has identified a registered Enrolee (or a current
 * certificate): a bound on the bodies read at once from one source address (429) and a short
 * deadline for reading the body (408), and only once the body is complete, a bound on enrolments
 * in flight in front of the HSM signer and the store (503). Anonymous and unregistered clients
 * are refused before they reach any of these, so they cannot hold what registered Enrolees need.
 * Shedding at once with Retry-After keeps the queues behind it short, so an overload degrades
 * into refusals rather than into timeouts for everyone.
 *
 * <p>The bound counts csrattrs too, an enrolment's first step (a store lookup and a challenge
 * written), from its request head to its answer: at three times the peak, csrattrs outside the
 * bound queued in front of the store by the hundred and every enrolment behind them waited
 * seconds. (Keeping part of the bound for the POSTs of enrolments that have their challenge was
 * tried and dropped: 64 devices enrolling one after another, as many as the default bound, were
 * then shed.) While the bound is reached, every step of an enrolment is shed at its request head,
 * before authentication, the challenge and the body. For a POST the head check only looks at the
 * bound and takes no slot, so a client that is not an Enrolee holds nothing while its body
 * arrives; the POST's slot is taken once the body is complete, as before.
 */
final class Admission {
    /** The routing-context key of the request's {@link BodyRead}, once its body is being read. */
    private static final String BODY_READ = "mef.bodyRead";

    private final Vertx vertx;
    private final GatewayConfig.Limits limits;
    private final TokenBuckets buckets;
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Enrolment bodies still arriving, per source address; an address without any has no entry. */
    private final ConcurrentHashMap<String, Integer> bodyReads = new ConcurrentHashMap<>();
    private final Counter shedAtHead;
    private final Counter shedAtCapacity;
    private final Counter shedPerClient;
    private final Counter shedBodyReads;

    Admission(Vertx vertx, GatewayConfig.Limits limits, MeterRegistry meters) {
        this.vertx = vertx;
        this.limits = limits;
        this.shedAtHead = shed(meters, "capacity", "head");
        this.shedAtCapacity = shed(meters, "capacity", "body");
        this.shedPerClient = shed(meters, "client_rate", "head");
        this.shedBodyReads = shed(meters, "body_reads", "body");
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
     * The request's deadline. When it passes before the response, the client gets 408 (its body
     * is being read: it has not finished sending) or 503 (the MEF has not finished, authenticating
     * it or serving it), and the connection is closed: a slow-loris body cannot hold it. Work
     * already started may still complete (a certificate is then in the ledger but was not
     * returned, which the Enrolee's retry with a new challenge covers).
     */
    void deadline(RoutingContext ctx) {
        long timer = vertx.setTimer(limits.requestTimeout().toMillis(), t -> {
            if (ctx.response().ended() || ctx.response().closed()) {
                return;
            }
            if (ctx.get(BODY_READ) instanceof BodyRead read && !read.done) {
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

    /**
     * Starts reading the body of an authenticated enrolment (the BodyHandler comes next), to be
     * complete within {@code bodyTimeout}: else 408, and the connection is closed with the rest
     * unread, although bytes may still be trickling in.
     *
     * <p>At most {@code maxBodyReadsPerClient} bodies still arriving at once from one source
     * address. A body that came with its headers, as devices send it, is read in the event loop's
     * next pass (the BodyHandler resumes the request, and Vert.x drains what it holds in a task
     * queued then) and never counts, so a burst of whole requests from one address (a NAT, a load
     * generator) is not refused; one still arriving after that pass counts until it is complete.
     * Beyond the bound: 429, not 503, because the MEF is not at capacity — this address is
     * sending more bodies at once than a device does, and every other address is still served;
     * Retry-After: 1 because a place frees as soon as one of its bodies is complete. The refused
     * body is left unread: the connection is closed.
     */
    void bodyRead(RoutingContext ctx) {
        BodyRead read = new BodyRead(ctx.request().remoteAddress().hostAddress());
        read.timer = vertx.setTimer(limits.bodyTimeout().toMillis(), t -> {
            if (!read.done && !ctx.response().ended() && !ctx.response().closed()) {
                ErrorResponses.sendAndClose(ctx, 408, "the request body was not received within " + limits.bodyTimeout().toSeconds() + " s");
            }
        });
        ctx.put(BODY_READ, read);
        // Whatever ends the request (its answer, 413, 408, 429, the connection lost) ends the read too.
        ctx.addEndHandler(ended -> endBodyRead(read));
        ctx.next();
        vertx.runOnContext(nextPass -> {
            if (read.done || ctx.response().ended()) {
                return;
            }
            if (bodyReads.merge(read.source, 1, Integer::sum) > limits.maxBodyReadsPerClient()) {
                giveBack(read.source);
                shedBodyReads.increment();
                ctx.response().putHeader("Retry-After", "1");
                ErrorResponses.sendAndClose(ctx, 429, "too many request bodies being sent from " + read.source + " at once: at most "
                        + limits.maxBodyReadsPerClient() + "; retry after 1 s");
                return;
            }
            read.counted = true;
        });
    }

    /**
     * csrattrs at its request head: takes a slot until its answer, or 503 + Retry-After at once
     * while {@code maxInFlight} enrolment steps are in progress. Its caller is authenticated after
     * this (without a client certificate at once, with one by a store lookup), so a slot is held
     * no longer than that lookup by a client that is not an Enrolee.
     */
    void csrattrs(RoutingContext ctx) {
        if (inFlight.incrementAndGet() > limits.maxInFlight()) {
            inFlight.decrementAndGet();
            shedAtCapacity(ctx, shedAtHead);
            return;
        }
        ctx.addEndHandler(done -> inFlight.decrementAndGet());
        ctx.next();
    }

    /**
     * An enrolment POST at its request head, before anything is read or looked up: while
     * {@code maxInFlight} enrolment steps are in progress, 503 + Retry-After at once. The rest of
     * the body is discarded as it arrives and the connection stays open, so a device retries on
     * it without a new handshake. Takes no slot (see {@link #enrolment}).
     */
    void capacityAtHead(RoutingContext ctx) {
        if (inFlight.get() >= limits.maxInFlight()) {
            shedAtCapacity(ctx, shedAtHead);
            return;
        }
        ctx.next();
    }

    /**
     * At most {@code maxInFlight} enrolments at once; beyond, 503 + Retry-After. Taken after the
     * body is complete (the BodyHandler runs before), so a slot is only ever held by an
     * authenticated Enrolee's request that the MEF is working on. (Most of an overload is shed at
     * the head already, {@link #capacityAtHead}; here only those that passed it together.)
     */
    void enrolment(RoutingContext ctx) {
        endBodyRead(ctx.get(BODY_READ));
        if (ctx.response().ended()) {
            return; // refused while its body was arriving (408, 429): the body completed too late to be served
        }
        if (inFlight.incrementAndGet() > limits.maxInFlight()) {
            inFlight.decrementAndGet();
            shedAtCapacity(ctx, shedAtCapacity);
            return;
        }
        ctx.addEndHandler(done -> inFlight.decrementAndGet());
        ctx.next();
    }

    private void shedAtCapacity(RoutingContext ctx, Counter counter) {
        counter.increment();
        ctx.response().putHeader("Retry-After", "1");
        ErrorResponses.send(ctx, 503, "the CA is at capacity (" + limits.maxInFlight()
                + " enrolment steps in progress); nothing was issued, retry shortly");
    }

    /** The body is complete, or the request ended without it: its deadline and its place (if it had one) are given back, once. */
    private void endBodyRead(BodyRead read) {
        if (!read.done) {
            read.done = true;
            vertx.cancelTimer(read.timer);
            if (read.counted) {
                giveBack(read.source);
            }
        }
    }

    /** One body fewer arriving from {@code source}; an address without any is forgotten, so the map holds only addresses sending. */
    private void giveBack(String source) {
        bodyReads.computeIfPresent(source, (address, reading) -> reading == 1 ? null : reading - 1);
    }

    /**
     * One enrolment body being read: from where, its deadline's timer, whether it counts against
     * its source (it was still arriving) and whether it has ended. Only the connection's event
     * loop touches it.
     */
    private static final class BodyRead {
        final String source;
        long timer;
        boolean counted;
        boolean done;

        BodyRead(String source) {
            this.source = source;
        }
    }

    /**
     * Requests turned away before any work, so an operator sees shedding apart from refusals by
     * policy; the stage says how far they got: {@code head} (nothing read beyond the request
     * head) or {@code body} (authenticated, its body read or being read).
     */
    private static Counter shed(MeterRegistry meters, String reason, String stage) {
        return Counter.builder("mef.est.requests.shed")
                .description("EST requests refused before any work: capacity (est.maxInFlight enrolment steps in progress, 503), "
                        + "client_rate (the source address's rate limit, 429) or body_reads (est.maxBodyReadsPerClient bodies "
                        + "being read from the source address, 429); stage head (at the request head) or body (after authentication)")
                .tag("reason", reason)
                .tag("stage", stage)
                .register(meters);
    }
}
