package org.mefgateway.gateway;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;
import java.util.UUID;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.FailureOutcomes;
import org.mefgateway.gateway.core.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every error leaves as a status and a one-line text/plain reason, on all three listeners. Clients
 * never see a stack trace: an unexpected failure is a 500 with a reference that finds the details
 * in the log. Which status an {@link ErrorCode} gets is {@link #status}: the one place where the
 * domain's errors become HTTP; which failures are refusals or a CA or store that cannot serve now
 * is the core's {@link FailureOutcomes}, the same for an enrolment and for any other request.
 */
public final class ErrorResponses {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorResponses.class);

    private ErrorResponses() {
    }

    /**
     * RFC 7235 3.1: a 401 names a scheme. TS-0003 8.3.6.2.1 forbids HTTP authentication, so the
     * scheme is none a client could answer with a password: it says the credential is the TLS
     * client certificate (clients that look for the header report an authentication failure).
     */
    public static final String WWW_AUTHENTICATE = "TLS-Client-Certificate realm=\"MEF\"";

    public static void install(Router router, Routes routes) {
        router.route().failureHandler(ErrorResponses::handle);
        router.errorHandler(404, ctx -> send(ctx, 404, reason(ctx, 404)));
        router.errorHandler(405, ctx -> {
            // The reason names what is allowed, not the method used, so that HEAD and GET get the same answer.
            String path = ctx.request().path();
            Optional<String> allow = routes.allowed(path);
            allow.ifPresent(a -> ctx.response().putHeader("Allow", a));
            send(ctx, 405, "method not allowed on " + path + allow.map(a -> ": only " + a + (a.contains(",") ? " are" : " is")
                    + " allowed").orElse(""));
        });
    }

    /**
     * The status of each refusal, on every HTTP listener: the one place where the domain's errors
     * become HTTP answers (SCEP, with its own failInfo, would map them in its own edge).
     */
    public static int status(ErrorCode code) {
        return switch (code) {
            case BAD_REQUEST, BAD_POP -> 400;
            case NOT_AUTHENTICATED -> 401;
            case NOT_PERMITTED -> 403;
            case NOT_FOUND -> 404;
            case CONFLICT -> 409;
            case TOO_LARGE -> 413;
            case UNSUPPORTED_MEDIA_TYPE -> 415;
            case INVALID -> 422;
            case RATE_LIMITED -> 429;
            case UNAVAILABLE -> 503;
        };
    }

    private static void handle(RoutingContext ctx) {
        Throwable failure = FailureOutcomes.unwrap(ctx.failure());
        if (ctx.response().headWritten()) {
            // The request's deadline answered already; what happened since is only for the log.
            LOG.info("{} {} from {} failed after its answer was sent: {}", ctx.request().method(),
                    LogText.safe(ctx.request().path()), ctx.request().remoteAddress(),
                    LogText.safe(failure == null ? String.valueOf(ctx.statusCode()) : failure.toString()));
            return;
        }
        if (failure == null) {
            int status = ctx.statusCode() < 400 ? 500 : ctx.statusCode();
            LOG.info("refused {} {} from {}: {} {}", ctx.request().method(), LogText.safe(ctx.request().path()),
                    ctx.request().remoteAddress(), status, LogText.safe(reason(ctx, status)));
            if (status == 413) {
                // The rest of the body is not read: the connection cannot carry another request.
                sendAndClose(ctx, status, reason(ctx, status));
            } else {
                send(ctx, status, reason(ctx, status));
            }
            return;
        }
        Optional<Outcome> outcome = FailureOutcomes.of(failure);
        if (outcome.isPresent() && outcome.get() instanceof Outcome.Refused refused) {
            int status = status(refused.code());
            if (refused.ruleId().isEmpty()) {
                // Policy refusals are logged by the core (Refusals), with the Enrolee they concern.
                LOG.info("refused {} {} from {}: {} {}", ctx.request().method(), LogText.safe(ctx.request().path()),
                        ctx.request().remoteAddress(), status, LogText.safe(refused.reason()));
            }
            refused.retryAfter().ifPresent(d -> retryAfter(ctx, d));
            if (status == 401) {
                ctx.response().putHeader("WWW-Authenticate", WWW_AUTHENTICATE);
            }
            send(ctx, status, refused.reason());
        } else if (outcome.isPresent() && outcome.get() instanceof Outcome.Unavailable unavailable) {
            retryAfter(ctx, unavailable.retryAfter());
            send(ctx, status(ErrorCode.UNAVAILABLE), unavailable.reason());
        } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
            // A client error Vert.x Web found before any route ran: an HTTP/1.1 request without
            // Host, an invalid Host, a path that does not start with '/'. Its message says which.
            String reason = failure.getMessage() == null ? reason(ctx, ctx.statusCode()) : LogText.safe(failure.getMessage());
            LOG.info("refused {} {} from {}: {} {}", ctx.request().method(), LogText.safe(ctx.request().path()),
                    ctx.request().remoteAddress(), ctx.statusCode(), reason);
            send(ctx, ctx.statusCode(), reason);
        } else {
            String ref = UUID.randomUUID().toString();
            LOG.error("internal error ref={} on {} {}", ref, ctx.request().method(), LogText.safe(ctx.request().path()), failure);
            send(ctx, 500, "internal error (ref " + ref + ")");
        }
    }

    /** The reason for a bare status, from routing (404, 405) or the body handler (413). */
    private static String reason(RoutingContext ctx, int status) {
        return switch (status) {
            case 413 -> "the request body is too large";
            case 404 -> "no such resource: " + ctx.request().path();
            default -> "the request cannot be served (" + status + ")";
        };
    }

    private static void retryAfter(RoutingContext ctx, java.time.Duration d) {
        ctx.response().putHeader("Retry-After", String.valueOf(Math.max(1, d.toSeconds())));
    }

    /** The routing-context key that asks for the connection to be closed after the answer. */
    private static final String CLOSE_AFTER_ANSWER = "mef.closeAfterAnswer";

    public static io.vertx.core.Future<Void> send(RoutingContext ctx, int status, String reason) {
        if (ctx.response().ended()) {
            return io.vertx.core.Future.succeededFuture();
        }
        if (ctx.get(CLOSE_AFTER_ANSWER) == null) {
            return Responses.end(ctx.response().setStatusCode(status), "text/plain; charset=utf-8", reason + "\n");
        }
        ConnectionGuard.closeAfter(ctx.request().connection());
        ctx.response().putHeader("Connection", "close");
        return Responses.end(ctx.response().setStatusCode(status), "text/plain; charset=utf-8", reason + "\n")
                .onComplete(sent -> ConnectionGuard.closeAfterBody(ctx.vertx(), ctx.request()));
    }

    /** The answer, then the connection closed (a lingering close: ConnectionGuard.closeAfterBody): for a request whose body is not (or not yet) read. */
    public static void sendAndClose(RoutingContext ctx, int status, String reason) {
        ctx.put(CLOSE_AFTER_ANSWER, true);
        send(ctx, status, reason);
    }

    /** {@code ctx.fail(failure)}, answered as every failure is, then the connection closed: the request's body is never read for it, only discarded while the connection lingers. */
    public static void failAndClose(RoutingContext ctx, Throwable failure) {
        ctx.put(CLOSE_AFTER_ANSWER, true);
        ctx.fail(failure);
    }
}
