package org.mefgateway.gateway.publication;

import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.ByteArrayOutputStream;
import java.util.Base64;
import java.util.Locale;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Responses;
import org.mefgateway.gateway.Routes;
import org.mefgateway.gateway.ca.OcspResponder;
import org.mefgateway.gateway.est.ErrorResponses;
import org.mefgateway.gateway.est.EstError;
import org.mefgateway.gateway.store.Store;

/**
 * Revocation information for relying parties, over plain HTTP and without authentication (the
 * answers are signed by the CA): the newest CRL (RFC 5280, served as {@code application/pkix-crl})
 * and the OCSP responder (RFC 6960 appendix A: POST of {@code application/ocsp-request}, or GET
 * with the base64 request in the path). Errors in the HTTP exchange itself are a 4xx with a
 * text/plain reason; an OCSP request that is not DER OCSP gets OCSP's own malformedRequest.
 */
public final class PublicationApi {
    static final int MAX_OCSP_REQUEST_BYTES = 8 * 1024;

    private final Store store;
    private final OcspResponder ocsp;
    private final WorkerExecutor workers;

    public PublicationApi(Store store, OcspResponder ocsp, WorkerExecutor workers) {
        this.store = store;
        this.ocsp = ocsp;
        this.workers = workers;
    }

    public Router router(Vertx vertx) {
        Router router = Router.router(vertx);
        Routes routes = new Routes(router);
        routes.get(GatewayConfig.Publication.CRL_PATH).handler(this::crl);
        routes.post(GatewayConfig.Publication.OCSP_PATH)
                .handler(BodyHandler.create(false).setBodyLimit(MAX_OCSP_REQUEST_BYTES))
                .handler(this::ocspPost);
        routes.get(GatewayConfig.Publication.OCSP_PATH + "/*").handler(this::ocspGet);
        ErrorResponses.install(router, routes);
        return router;
    }

    private void crl(RoutingContext ctx) {
        workers.executeBlocking(store::latestCrl, false).onSuccess(crl -> {
            if (crl.isEmpty()) {
                ctx.fail(EstError.unavailable("no CRL has been signed yet; retry shortly", java.time.Duration.ofSeconds(10)));
                return;
            }
            Responses.end(ctx.response().putHeader("Last-Modified", Responses.httpDate(crl.get().thisUpdate())),
                    "application/pkix-crl", Buffer.buffer(crl.get().der()));
        }).onFailure(ctx::fail);
    }

    private void ocspPost(RoutingContext ctx) {
        String type = ctx.request().getHeader("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/ocsp-request")) {
            ctx.fail(EstError.of(415, "an OCSP request is sent as Content-Type application/ocsp-request (RFC 6960 A.1)"));
            return;
        }
        answer(ctx, ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes());
    }

    /** RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER encoding of the OCSPRequest}. */
    private void ocspGet(RoutingContext ctx) {
        String path = ctx.request().path();
        if (path.length() <= GatewayConfig.Publication.OCSP_PATH.length() + 1) {
            // Vert.x routes /ocsp/* for /ocsp too: a GET without the request it should carry.
            ctx.fail(EstError.of(400, "GET /ocsp/ carries the URL-encoded base64 of a DER OCSP request (RFC 6960 A.1); "
                    + "or POST it to /ocsp"));
            return;
        }
        String encoded = path.substring(GatewayConfig.Publication.OCSP_PATH.length() + 1);
        byte[] der;
        try {
            der = Base64.getDecoder().decode(percentDecode(encoded));
        } catch (IllegalArgumentException e) {
            ctx.fail(EstError.of(400, "the path after /ocsp/ must be the URL-encoded base64 of a DER OCSP request (RFC 6960 A.1)"));
            return;
        }
        if (der.length > MAX_OCSP_REQUEST_BYTES) {
            ctx.fail(EstError.of(413, "the OCSP request is too large"));
            return;
        }
        answer(ctx, der);
    }

    private void answer(RoutingContext ctx, byte[] request) {
        workers.executeBlocking(() -> ocsp.respond(request), false)
                .onSuccess(response -> Responses.end(ctx.response(), "application/ocsp-response", Buffer.buffer(response)))
                .onFailure(ctx::fail);
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
