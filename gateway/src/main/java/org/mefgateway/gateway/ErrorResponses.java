package org.mefgateway.gateway;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.function.ToIntFunction;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.OperationException;
import org.mefgateway.gateway.store.StoreException;
import org.mefgateway.hsm.HsmBusyException;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.HsmUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every error leaves as a status and a one-line text/plain reason, on all three listeners. Clients
 * never see a stack trace: an unexpected failure is a 500 with a reference that finds the details
 * in the log. Which status an {@link ErrorCode} gets is the listener's choice, passed to
 * {@link #install}: the one place per edge where the domain's errors become HTTP.
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

    public static void install(Router router, Routes routes, ToIntFunction<ErrorCode> statusOf) {
        router.route().failureHandler(ctx -> handle(ctx, statusOf));
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

    private static void handle(RoutingContext ctx, ToIntFunction<ErrorCode> statusOf) {
        Throwable failure = unwrap(ctx.failure());
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
        if (failure instanceof OperationException e) {
            int status = statusOf.applyAsInt(e.code());
            if (e.ruleId().isEmpty()) {
                // Policy refusals are logged by the core (Refusals), with the Enrolee they concern.
                LOG.info("refused {} {} from {}: {} {}", ctx.request().method(), LogText.safe(ctx.request().path()),
                        ctx.request().remoteAddress(), status, LogText.safe(e.reason()));
            }
            e.retryAfter().ifPresent(d -> ctx.response().putHeader("Retry-After", String.valueOf(Math.max(1, d.toSeconds()))));
            if (status == 401) {
                ctx.response().putHeader("WWW-Authenticate", WWW_AUTHENTICATE);
            }
            send(ctx, status, e.reason());
        } else if (failure instanceof HsmBusyException) {
            ctx.response().putHeader("Retry-After", "1");
            send(ctx, 503, "the CA is busy; nothing was issued, retry shortly");
        } else if (failure instanceof HsmUnavailableException) {
            // The circuit is open: the signer logged the fault once; every request would repeat it.
            ctx.response().putHeader("Retry-After", "10");
            send(ctx, 503, "the CA's HSM is unavailable; nothing was issued, retry later");
        } else if (failure instanceof HsmException e) {
            LOG.error("HSM failure: {}", e.getMessage());
            ctx.response().putHeader("Retry-After", "10");
            send(ctx, 503, "the CA's HSM is unavailable; nothing was issued, retry later");
        } else if (failure instanceof StoreException e) {
            LOG.error("store failure: {}", e.getMessage(), e);
            ctx.response().putHeader("Retry-After", "10");
            send(ctx, 503, "the certificate store is unavailable; nothing was issued, retry later");
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

    /**
     * The failure that says what went wrong: an HSM or store fault wherever a library wrapped it
     * (Bouncy Castle's OCSP and CRL builders wrap the signer's failure in their own exception),
     * else the failure without its CompletionException layers.
     */
    private static Throwable unwrap(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof HsmException || cause instanceof StoreException) {
                return cause;
            }
        }
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
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
