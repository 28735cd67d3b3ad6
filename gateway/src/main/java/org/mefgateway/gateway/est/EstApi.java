package org.mefgateway.gateway.est;

import org.mefgateway.gateway.ErrorResponses;
import org.mefgateway.gateway.core.ErrorCode;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.Optional;
import org.mefgateway.gateway.ChannelBinding;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Responses;
import org.mefgateway.gateway.Routes;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.core.Caller;
import org.mefgateway.gateway.core.CsrAttributes;
import org.mefgateway.gateway.core.EnrolmentCore;
import org.mefgateway.gateway.core.EnrolmentRequest;
import org.mefgateway.gateway.core.EnrolmentSteps;
import org.mefgateway.gateway.core.Operation;
import org.mefgateway.gateway.core.OperationException;
import org.mefgateway.gateway.core.Outcome;
import org.mefgateway.gateway.core.PolicyDirectory;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;

/**
 * The EST protocol front end (RFC 7030, RFC 8951) and the MEF Client Command read by Enrolees.
 * It knows HTTP and the wire format (base64, CMS, csrattrs) and answers the core's outcomes:
 * what to issue is the {@link EnrolmentCore}'s business. Its statuses are chosen in {@link ErrorResponses#status}
 * and {@link #answer}, nowhere else.
 */
public final class EstApi {
    static final String EST = "/.well-known/est";
    /** The label of requests without one: they are served by the default profile. */
    static final String DEFAULT_LABEL = "";
    /** The routing-context key of the authenticated {@link Caller} of an enrolment. */
    private static final String CALLER = "mef.caller";

    private final EnrolmentCore core;
    /** Where the response of an issuance is encoded (certs-only CMS, base64): CPU work, off the event loop. */
    private final WorkerExecutor cpuWorkers;
    /** The cacerts body of each CA key (by key name), built once. */
    private final Map<String, String> cacertsBodies = new ConcurrentHashMap<>();
    private final int maxBodyBytes;
    private final GatewayConfig.Limits limits;
    private final EstMetrics metrics;
    /** The SCEP URI a SCEP Enrolee's command names (on the publication listener; its bound port once it listens). */
    private final Supplier<String> scepUri;

    public EstApi(EnrolmentCore core, WorkerExecutor cpuWorkers, int maxBodyBytes, GatewayConfig.Limits limits, EstMetrics metrics,
                  Supplier<String> scepUri) {
        this.core = core;
        this.scepUri = scepUri;
        this.cpuWorkers = cpuWorkers;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
        this.limits = limits;
    }

    /**
     * {@code alsoServed} adds the routes of another edge on this listener (SCEP over HTTPS), behind
     * the listener's per-client limit and deadline and before the error handlers, so that their
     * 404 and 405 know every route of the listener.
     */
    public Router router(Vertx vertx, BiConsumer<Router, Routes> alsoServed) {
        Router router = Router.router(vertx);
        Routes routes = new Routes(router);
        // First, so every request is counted and timed, including the ones routing or the body handler refuse.
        router.route().handler(metrics::handle);
        Admission admission = new Admission(vertx, limits, metrics.meters());
        router.route().handler(admission::perClient).handler(admission::deadline);
        alsoServed.accept(router, routes);
        // RFC 7030 3.2.2: each operation without a label and under /<label>/ (the label selects the profile).
        for (String base : List.of(EST, EST + "/:label")) {
            // RFC 9110 9.3.2: HEAD wherever GET is served (Vert.x sends the headers of the GET, no body).
            routes.get(base + "/cacerts").handler(this::cacerts);
            // csrattrs is an enrolment's first step (it writes a challenge): it counts in the in-flight bound.
            routes.get(base + "/csrattrs").handler(admission::csrattrs).handler(this::csrattrs);
            // In this order: at capacity shed at the head, before anything else; the content type and
            // the caller are checked before the body is read, and an in-flight slot is taken only
            // once an authenticated caller's body is complete, so clients that are not Enrolees
            // never hold a POST's slot (README "Security and limits").
            // Separate routes: Vert.x Web allows no handler before a BodyHandler within one route.
            for (Operation operation : Operation.values()) {
                String path = base + switch (operation) {
                    case ENROL -> "/simpleenroll";
                    case REENROL -> "/simplereenroll";
                    case SERVERKEYGEN -> "/serverkeygen";
                };
                routes.post(path).handler(admission::capacityAtHead);
                routes.post(path).handler(ctx -> requireContentType(ctx, EstWire.PKCS10));
                routes.post(path).handler(this::authenticate);
                routes.post(path).handler(admission::bodyRead);
                routes.post(path)
                        .handler(BodyHandler.create(false).setBodyLimit(maxBodyBytes))
                        .handler(admission::enrolment)
                        .handler(ctx -> enrol(ctx, operation));
            }
        }
        routes.get("/mef/command").handler(this::command);
        ErrorResponses.install(router, routes);
        return router;
    }

    /** RFC 7030 4.1: the CA certificates, to anyone (the Enrolee installs them as trust anchors). */
    private void cacerts(RoutingContext ctx) {
        PolicyEngine policy = core.profiles().policy(label(ctx));
        String body = cacertsBodies.computeIfAbsent(policy.profile().caKey(), key -> EstWire.encodeBase64(
                EstWire.certsOnly(core.profiles().ca(policy).chain().stream().map(EstWire::der).toList())));
        sendBase64(ctx, EstWire.PKCS7_CERTS_ONLY, body);
    }

    /** RFC 7030 4.5 / TS-0003 steps 4-5, for an authenticated Enrolee. */
    private void csrattrs(RoutingContext ctx) {
        String label = label(ctx);
        core.profiles().policy(label); // an unknown label is an unknown resource (404), whoever asks
        core.authenticator().authenticate(TlsMaterial.clientCertificate(ctx.request()))
                .compose(caller -> core.challenges().csrAttributes(caller, label))
                .onSuccess(attributes -> sendBase64(ctx, EstWire.CSRATTRS, EstWire.encodeBase64(csrattrs(attributes))))
                .onFailure(ctx::fail);
    }

    private static byte[] csrattrs(CsrAttributes attributes) {
        return EstWire.csrAttributes(attributes.challengePassword(), attributes.keys(), attributes.identity(), attributes.ekus());
    }

    /**
     * TS-0003 8.3.6.2.1, before an enrolment's body is read: the TLS client certificate must be a
     * registered Enrolee's bootstrap certificate or a current certificate of this CA. Otherwise
     * 401 (none) or 403, and the connection is closed with the body unread. The caller is kept
     * for {@link #enrol}.
     */
    private void authenticate(RoutingContext ctx) {
        core.profiles().policy(label(ctx)); // an unknown label is an unknown resource (404), whoever asks
        // Vert.x Web 5 does not hold a body back for a handler that works asynchronously before the
        // BodyHandler: paused here, the body waits in the request's queue, and the BodyHandler
        // resumes it once it has set its own handlers (as Vert.x Web's AuthenticationHandler does).
        ctx.request().pause();
        core.authenticator().authenticate(TlsMaterial.clientCertificate(ctx.request()))
                .onSuccess(caller -> {
                    if (!ctx.response().ended()) { // else the request's deadline answered already
                        ctx.put(CALLER, caller);
                        ctx.next();
                    }
                })
                .onFailure(failure -> ErrorResponses.failAndClose(ctx, failure));
    }

    /** RFC 7030 4.2.1 / TS-0003 steps 7-12 (simpleenroll), and RFC 7030 4.2.2 (simplereenroll), for the caller {@link #authenticate} found. */
    private void enrol(RoutingContext ctx, Operation operation) {
        Caller caller = ctx.get(CALLER);
        byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
        Optional<String> binding = ctx.request().isSSL()
                ? ChannelBinding.tlsExporter(ctx.request().sslSession()) : Optional.empty();
        core.pipeline().enrol(new EnrolmentRequest(caller, label(ctx), operation, () -> EstWire.decodeBase64(body), binding))
                .onSuccess(outcome -> answer(ctx, outcome))
                .onFailure(ctx::fail);
    }

    /**
     * The one place an enrolment's outcome becomes an EST answer: 200 with the certificate (and for
     * serverkeygen the key), 202 for a held request (RFC 7030 4.2.3: Retry-After and no body, on
     * which Bouncy Castle's EST client would fail), a refusal or 503 through {@link ErrorResponses#status}.
     */
    private void answer(RoutingContext ctx, Outcome outcome) {
        if (ctx.response().ended()) {
            return; // the request's deadline answered already
        }
        if (outcome instanceof Outcome.Issued issued) {
            cpuWorkers.executeBlocking(() -> issuedBody(issued), false)
                    .onSuccess(response -> {
                        if (issued.privateKey().isEmpty()) {
                            sendBase64(ctx, EstWire.PKCS7_CERTS_ONLY, response);
                        } else if (!ctx.response().ended()) {
                            Responses.end(ctx.response(), EstWire.SERVERKEYGEN_TYPE, response);
                        }
                    })
                    .onFailure(ctx::fail);
        } else if (outcome instanceof Outcome.Held held) {
            ctx.response().setStatusCode(202)
                    .putHeader("Retry-After", String.valueOf(Math.max(1, held.retryAfter().toSeconds())))
                    .putHeader("Content-Length", "0")
                    .end();
        } else if (outcome instanceof Outcome.Refused refused) {
            ctx.fail(refused.exception());
        } else if (outcome instanceof Outcome.Unavailable unavailable) {
            ctx.fail(OperationException.unavailable(unavailable.reason(), unavailable.retryAfter()));
        }
    }

    /** The certs-only CMS of the certificate, base64; for serverkeygen (RFC 7030 4.4.2) with the private key (PKCS#8, protected by this TLS session). */
    private String issuedBody(Outcome.Issued issued) {
        core.steps().ran(EnrolmentSteps.Step.ENCODE_RESPONSE);
        String certsOnly = EstWire.encodeBase64(EstWire.certsOnly(List.of(issued.certificate())));
        return issued.privateKey().isEmpty() ? certsOnly
                : EstWire.serverKeyGenResponse(issued.privateKey().get().getEncoded(), certsOnly);
    }

    private static String label(RoutingContext ctx) {
        String label = ctx.pathParam("label");
        return label == null ? DEFAULT_LABEL : label;
    }

    /**
     * The MEF Client Command pending for the Enrolee (TS-0003 8.3.9.7): CERT_PROV with where and
     * what to enrol, or NO_MORE_COMMANDS once its certificate was issued. For EST the URI is the
     * EST base the Enrolee reached this MEF at; for SCEP, the SCEP URI on the publication listener.
     */
    private void command(RoutingContext ctx) {
        core.authenticator().authenticate(TlsMaterial.clientCertificate(ctx.request()))
                .onSuccess(caller -> {
                    if (!ctx.response().ended()) {
                        Responses.end(ctx.response(), "application/json",
                                command(caller.enrolee(), "https://" + authority(ctx.request()) + EST, scepUri.get()).encode());
                    }
                })
                .onFailure(ctx::fail);
    }

    /** RFC 8951: base64 bodies, announced with Content-Transfer-Encoding for clients that still look for it. */
    private static void sendBase64(RoutingContext ctx, String contentType, String base64) {
        if (ctx.response().ended()) {
            return; // the request's deadline answered already
        }
        Responses.end(ctx.response().putHeader("Content-Transfer-Encoding", "base64"), contentType, base64);
    }

    /** host:port the client addressed (Host header), or the listener's own address without one. */
    private static String authority(HttpServerRequest request) {
        if (request.authority() != null) {
            return request.authority().toString();
        }
        return request.localAddress().hostAddress() + ":" + request.localAddress().port();
    }

    /**
     * {@code estBase} is the EST base the Enrolee reached; an EST URI adds the label of the profile
     * it was instructed for. certProvProtocolID names the protocol (TS-0003 12.3.2.5: EST or SCEP).
     */
    static JsonObject command(StoredEnrolee stored, String estBase, String scepUri) {
        JsonObject json = new JsonObject()
                .put("enroleeId", stored.enrolee().id())
                .put("command", stored.command().name());
        if (stored.command() == StoredEnrolee.Command.CERT_PROV) {
            String label = stored.instructedProfile().map(PolicyDirectory::labelOf).orElse(DEFAULT_LABEL);
            String uri = switch (stored.protocol()) {
                case EST -> label.isEmpty() ? estBase : estBase + "/" + label;
                case SCEP -> scepUri;
            };
            json.put("certProvProtocolID", stored.protocol().name())
                    .put("URI", uri)
                    .put("certSubjectType", stored.enrolee().type().code())
                    .put("certSubjectID", stored.enrolee().certSubjectId());
        }
        stored.commandResult().ifPresent(result -> json.put("lastResult", result.name()));
        return json;
    }

    private static void requireContentType(RoutingContext ctx, String expected) {
        String type = ctx.request().getHeader("Content-Type");
        String mediaType = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!mediaType.equals(expected)) {
            ctx.fail(OperationException.of(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be " + expected + (type == null ? " (none was sent)" : ", not " + type)));
            return;
        }
        ctx.next();
    }

}
