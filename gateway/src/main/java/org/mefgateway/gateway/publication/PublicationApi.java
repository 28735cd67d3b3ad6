package org.mefgateway.gateway.publication;

import org.mefgateway.gateway.ErrorResponses;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.OperationException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.BiConsumer;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Responses;
import org.mefgateway.gateway.Routes;
import org.mefgateway.gateway.ca.OcspResponder;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmBusyException;
import org.mefgateway.hsm.HsmException;

/**
 * Revocation information for relying parties, over plain HTTP and without authentication (the
 * answers are signed): the newest CRL of each CA key (RFC 5280, served as
 * {@code application/pkix-crl}: {@code /crl/ca.crl} for the default key, {@code /crl/<key>.crl} for
 * each key of hsm.keys) and the OCSP responder for all of them (RFC 6960 appendix A: POST of
 * {@code application/ocsp-request}, or GET with the base64 request in the path; RFC 5019 6.2
 * caching headers on signed answers). Errors in the HTTP exchange itself are a 4xx with a
 * text/plain reason; an OCSP request that is not DER OCSP gets OCSP's own malformedRequest.
 */
public final class PublicationApi {
    static final int MAX_OCSP_REQUEST_BYTES = 8 * 1024;

    private final Store store;
    private final OcspResponder ocsp;
    private final List<String> caKeys;
    private final WorkerExecutor workers;

    /** {@code caKeys}: the configured CA key names, each with its CRL. */
    public PublicationApi(Store store, OcspResponder ocsp, List<String> caKeys, WorkerExecutor workers) {
        this.store = store;
        this.ocsp = ocsp;
        this.caKeys = List.copyOf(caKeys);
        this.workers = workers;
    }

    /** Where the CRL of a CA key is published: the default key's at the path profiles have always named. */
    public static String crlPath(String caKey) {
        return caKey.equals(CaKeyConfig.DEFAULT) ? GatewayConfig.Publication.CRL_PATH : "/crl/" + caKey + ".crl";
    }

    /**
     * {@code alsoServed} adds the routes of another edge on this plain-HTTP listener (SCEP), before
     * the error handlers, so that their 404 and 405 (with Allow) know every route of the listener.
     */
    public Router router(Vertx vertx, BiConsumer<Router, Routes> alsoServed) {
        Router router = Router.router(vertx);
        Routes routes = new Routes(router);
        alsoServed.accept(router, routes);
        routes.get("/crl/:file").handler(this::crl);
        routes.post(GatewayConfig.Publication.OCSP_PATH)
                .handler(BodyHandler.create(false).setBodyLimit(MAX_OCSP_REQUEST_BYTES))
                .handler(this::ocspPost);
        routes.get(GatewayConfig.Publication.OCSP_PATH + "/*").handler(this::ocspGet);
        ErrorResponses.install(router, routes);
        return router;
    }

    private void crl(RoutingContext ctx) {
        Optional<String> key = caKeys.stream().filter(k -> ctx.request().path().equals(crlPath(k))).findFirst();
        if (key.isEmpty()) {
            ctx.fail(OperationException.of(ErrorCode.NOT_FOUND, "no such CRL: " + ctx.request().path() + " (CRLs: "
                    + String.join(", ", caKeys.stream().map(PublicationApi::crlPath).toList()) + ")"));
            return;
        }
        workers.executeBlocking(() -> store.latestCrl(key.get()), false).onSuccess(crl -> {
            if (crl.isEmpty()) {
                ctx.fail(OperationException.unavailable("no CRL has been signed yet; retry shortly", java.time.Duration.ofSeconds(10)));
                return;
            }
            Responses.end(ctx.response().putHeader("Last-Modified", Responses.httpDate(crl.get().thisUpdate())),
                    "application/pkix-crl", Buffer.buffer(crl.get().der()));
        }).onFailure(ctx::fail);
    }

    private void ocspPost(RoutingContext ctx) {
        String type = ctx.request().getHeader("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/ocsp-request")) {
            ctx.fail(OperationException.of(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "an OCSP request is sent as Content-Type application/ocsp-request (RFC 6960 A.1)"));
            return;
        }
        answer(ctx, ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes());
    }

    /** RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER encoding of the OCSPRequest}. */
    private void ocspGet(RoutingContext ctx) {
        String path = ctx.request().path();
        if (path.length() <= GatewayConfig.Publication.OCSP_PATH.length() + 1) {
            // Vert.x routes /ocsp/* for /ocsp too: a GET without the request it should carry.
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "GET /ocsp/ carries the URL-encoded base64 of a DER OCSP request (RFC 6960 A.1); "
                    + "or POST it to /ocsp"));
            return;
        }
        String encoded = path.substring(GatewayConfig.Publication.OCSP_PATH.length() + 1);
        byte[] der;
        try {
            der = Base64.getDecoder().decode(percentDecode(encoded));
        } catch (IllegalArgumentException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST,
                    "the path after /ocsp/ must be the URL-encoded base64 of a DER OCSP request (RFC 6960 A.1)"));
            return;
        }
        if (der.length > MAX_OCSP_REQUEST_BYTES) {
            ctx.fail(OperationException.of(ErrorCode.TOO_LARGE, "the OCSP request is too large"));
            return;
        }
        answer(ctx, der);
    }

    private void answer(RoutingContext ctx, byte[] request) {
        workers.executeBlocking(() -> ocsp.respond(request), false)
                .compose(answer -> Future.fromCompletionStage(answer, ctx.vertx().getOrCreateContext()))
                .onSuccess(answer -> {
                    answer.validity().ifPresent(v -> cacheable(ctx.response(), v));
                    Responses.end(ctx.response(), "application/ocsp-response", Buffer.buffer(answer.der()));
                })
                .onFailure(e -> ctx.fail(unavailable(e)));
    }

    /**
     * RFC 5019 6.2: a signed answer may be kept by HTTP caches until the responder would sign it
     * again (max-age), never past its nextUpdate (Expires), and revalidated after.
     */
    private static void cacheable(HttpServerResponse response, OcspResponder.Validity v) {
        response.putHeader("Cache-Control", "max-age=" + v.maxAge().toSeconds() + ", public, no-transform, must-revalidate")
                .putHeader("Last-Modified", Responses.httpDate(v.thisUpdate()))
                .putHeader("Expires", Responses.httpDate(v.nextUpdate()));
    }

    /** The signer's failure when an answer had to be signed and nothing valid was held: 503 + Retry-After. */
    private static Throwable unavailable(Throwable e) {
        Throwable cause = e;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof HsmException) {
            return OperationException.unavailable("the OCSP responder cannot sign an answer for this certificate now and holds none that is "
                    + "still valid; retry later", Duration.ofSeconds(cause instanceof HsmBusyException ? 1 : 10));
        }
        return cause;
    }

    /**
     * Decodes %XX escapes only. URLDecoder would also turn '+' into a space, but '+' is a base64
     * character that clients often leave unescaped.
     */
    static String percentDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '%') {
                if (i + 2 >= s.length()) {
                    throw new IllegalArgumentException("truncated escape");
                }
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                out.write(ch);
            }
        }
        return out.toString(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
