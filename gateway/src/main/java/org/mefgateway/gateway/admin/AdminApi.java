package org.mefgateway.gateway.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.est.ErrorResponses;
import org.mefgateway.gateway.mef.PolicyDirectory;
import org.mefgateway.gateway.mef.RegistrationAuthority;
import org.mefgateway.gateway.store.PendingRequest;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.gateway.est.EstApi;
import org.mefgateway.gateway.est.EstError;
import org.mefgateway.gateway.store.DuplicateException;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.RegisteredEnrolee;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator listener: JSON admin API for operators (authenticated by a pinned TLS client
 * certificate) and the unauthenticated health probes. It is a separate listener from EST, so
 * no admin action is reachable from the port Enrolees use.
 */
public final class AdminApi {
    private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
    private static final Pattern ENROLEE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern DNS_NAME = Pattern.compile("(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern URI_TEXT = Pattern.compile("[\\x21-\\x7e]{1,1024}");

    /** What the readiness probe has the HSM sign: any bytes prove the key is usable. */
    private static final byte[] HSM_PROBE = "mef-readiness-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final Store store;
    private final CaSigner signer;
    private final PolicyDirectory policies;
    private final RegistrationAuthority ra;
    private final WorkerExecutor storeWorkers;
    private final Set<String> operatorFingerprints;
    private final PrometheusMeterRegistry meters;
    private final Clock clock;

    public AdminApi(Store store, CaSigner signer, PolicyDirectory policies, RegistrationAuthority ra,
                    WorkerExecutor storeWorkers, List<X509Certificate> operators, PrometheusMeterRegistry meters, Clock clock) {
        this.policies = policies;
        this.ra = ra;
        this.meters = meters;
        this.store = store;
        this.signer = signer;
        this.storeWorkers = storeWorkers;
        Set<String> fps = new HashSet<>();
        operators.forEach(c -> fps.add(TlsMaterial.fingerprint(c)));
        this.operatorFingerprints = Set.copyOf(fps);
        this.clock = clock;
    }

    public Router router(Vertx vertx) {
        Router router = Router.router(vertx);
        router.get("/health/live").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
        router.get("/health/ready").handler(this::ready);
        // Like the probes, unauthenticated: Prometheus scrapes it, and it holds no secret.
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                .end(meters.scrape()));
        router.route("/admin/*").handler(this::requireOperator);
        router.post("/admin/enrolees").handler(BodyHandler.create(false).setBodyLimit(64 * 1024)).handler(this::registerEnrolee);
        router.get("/admin/enrolees").handler(this::listEnrolees);
        router.get("/admin/certificates").handler(this::listCertificates);
        router.post("/admin/policy/reload").handler(this::reloadPolicy);
        router.post("/admin/enrolees/:id/instruct").handler(this::instruct);
        router.delete("/admin/enrolees/:id").handler(this::removeEnrolee);
        router.get("/admin/requests").handler(this::listRequests);
        router.post("/admin/requests/:id/approve").handler(this::approve);
        router.post("/admin/requests/:id/reject").handler(BodyHandler.create(false).setBodyLimit(16 * 1024)).handler(this::reject);
        router.get("/admin/policy").handler(ctx -> json(ctx, 200, profilesJson()));
        ErrorResponses.install(router);
        return router;
    }

    private void requireOperator(RoutingContext ctx) {
        Optional<X509Certificate> client = EstApi.clientCertificate(ctx.request());
        if (client.isEmpty()) {
            ctx.fail(EstError.of(401, "the admin API needs an operator's TLS client certificate"));
        } else if (!operatorFingerprints.contains(TlsMaterial.fingerprint(client.get()))) {
            ctx.fail(EstError.of(403, "this client certificate is not an operator's"));
        } else {
            ctx.next();
        }
    }

    /** Ready when the store answers and the HSM signs with the CA key; the detail says which is down. */
    private void ready(RoutingContext ctx) {
        Future<Void> storeUp = storeWorkers.executeBlocking(() -> {
            store.ping();
            return null;
        }, false);
        Future<byte[]> hsmUp = Future.fromCompletionStage(signer.sign(HSM_PROBE));
        Future.join(storeUp, hsmUp).onComplete(ar -> {
            JsonObject detail = new JsonObject()
                    .put("status", ar.succeeded() ? "UP" : "DOWN")
                    .put("store", storeUp.succeeded() ? "UP" : "DOWN")
                    .put("hsm", hsmUp.succeeded() ? "UP" : "DOWN");
            json(ctx, ar.succeeded() ? 200 : 503, detail);
        });
    }

    /**
     * Re-reads the policy directory. All files are validated before anything changes; with one
     * bad file the profiles in use stay and the operator gets every error (422).
     */
    private void reloadPolicy(RoutingContext ctx) {
        storeWorkers.<List<String>>executeBlocking(policies::reload, false).onComplete(ar -> {
            if (ar.succeeded()) {
                LOG.info("operator reloaded the policy: profiles {}", ar.result());
                json(ctx, 200, profilesJson());
            } else if (ar.cause() instanceof ProfileException e) {
                LOG.warn("policy reload refused, profiles unchanged: {}", LogText.safe(e.getMessage().replace("\n", " ")));
                ctx.fail(EstError.of(422, e.getMessage()));
            } else {
                ctx.fail(ar.cause());
            }
        });
    }

    /** Re-instructs an Enrolee (TS-0003 8.3.9.7): a new CERT_PROV command lets its bootstrap credential enrol once more. */
    private void instruct(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        storeWorkers.executeBlocking(() -> store.instruct(id), false).onSuccess(found -> {
            if (!found) {
                ctx.fail(EstError.of(404, "no Enrolee '" + LogText.safe(id) + "'"));
                return;
            }
            LOG.info("operator instructed enrolee={} (CERT_PROV)", LogText.safe(id));
            json(ctx, 200, new JsonObject().put("id", id).put("command", StoredEnrolee.Command.CERT_PROV.name()));
        }).onFailure(ctx::fail);
    }

    /** Removes a registration; the certificates it obtained stay in the ledger. */
    private void removeEnrolee(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        storeWorkers.executeBlocking(() -> store.removeEnrolee(id), false).onSuccess(found -> {
            if (!found) {
                ctx.fail(EstError.of(404, "no Enrolee '" + LogText.safe(id) + "'"));
                return;
            }
            LOG.info("operator removed enrolee={}", LogText.safe(id));
            ctx.response().setStatusCode(204).end();
        }).onFailure(ctx::fail);
    }

    /** Requests held for approval; {@code ?status=PENDING} (or APPROVED, REJECTED) filters. */
    private void listRequests(RoutingContext ctx) {
        Optional<PendingRequest.Status> status;
        try {
            status = Optional.ofNullable(ctx.queryParams().get("status")).map(PendingRequest.Status::valueOf);
        } catch (IllegalArgumentException e) {
            ctx.fail(EstError.of(400, "status must be PENDING, APPROVED or REJECTED"));
            return;
        }
        storeWorkers.executeBlocking(() -> store.pendingRequests(status), false)
                .onSuccess(list -> json(ctx, 200, new JsonArray(list.stream().map(AdminApi::toJson).toList())))
                .onFailure(ctx::fail);
    }

    private void approve(RoutingContext ctx) {
        ra.approve(ctx.pathParam("id"))
                .onSuccess(cert -> json(ctx, 200, new JsonObject().put("id", ctx.pathParam("id")).put("status", "APPROVED")
                        .put("serial", cert.serialHex())))
                .onFailure(ctx::fail);
    }

    private void reject(RoutingContext ctx) {
        String reason;
        try {
            JsonObject body = ctx.body().isEmpty() ? new JsonObject() : ctx.body().asJsonObject();
            reason = body.getString("reason", "rejected by the operator");
        } catch (DecodeException | ClassCastException e) {
            ctx.fail(EstError.of(400, "the body is not a JSON object with a reason"));
            return;
        }
        if (reason.length() > 1024) {
            ctx.fail(EstError.of(400, "the reason is longer than 1024 characters"));
            return;
        }
        ra.reject(ctx.pathParam("id"), reason)
                .onSuccess(x -> json(ctx, 200, new JsonObject().put("id", ctx.pathParam("id")).put("status", "REJECTED")))
                .onFailure(ctx::fail);
    }

    static JsonObject toJson(PendingRequest r) {
        JsonObject json = new JsonObject()
                .put("id", r.id())
                .put("enroleeId", r.enroleeId())
                .put("label", r.label())
                .put("operation", r.reenrol() ? "simplereenroll" : "simpleenroll")
                .put("csrSha256", r.csrHash())
                .put("status", r.status().name())
                .put("createdAt", r.createdAt().toString());
        r.reason().ifPresent(v -> json.put("reason", v));
        r.serialHex().ifPresent(v -> json.put("serial", v));
        r.decidedAt().ifPresent(v -> json.put("decidedAt", v.toString()));
        return json;
    }

    private JsonObject profilesJson() {
        return new JsonObject().put("policyDir", policies.dir().toString())
                .put("profiles", new JsonArray(List.copyOf(policies.profiles().keySet())));
    }

    /** Registers an Enrolee: the MEF's instruction to enrol (a CERT_PROV command waits for it). */
    private void registerEnrolee(RoutingContext ctx) {
        StoredEnrolee enrolee;
        try {
            JsonObject body = ctx.body().asJsonObject();
            if (body == null) {
                throw EstError.of(400, "expected a JSON object");
            }
            enrolee = parseEnrolee(body);
        } catch (DecodeException | ClassCastException e) {
            ctx.fail(EstError.of(400, "the body is not a JSON object"));
            return;
        } catch (EstError e) {
            ctx.fail(e);
            return;
        }
        storeWorkers.executeBlocking(() -> {
            store.registerEnrolee(enrolee);
            return enrolee;
        }, false).onSuccess(e -> {
            LOG.info("operator registered enrolee={} type={} subject={} suids={}", e.enrolee().id(), e.enrolee().type(),
                    LogText.safe(e.enrolee().certSubjectId()), e.enrolee().suids());
            json(ctx, 201, toJson(e));
        }).onFailure(e -> ctx.fail(e instanceof DuplicateException d ? EstError.of(409, d.getMessage()) : e));
    }

    private StoredEnrolee parseEnrolee(JsonObject body) {
        String id = required(body, "id");
        if (!ENROLEE_ID.matcher(id).matches()) {
            throw EstError.of(400, "id must be 1-128 characters of A-Z a-z 0-9 . _ : -");
        }
        String fingerprint;
        if (body.containsKey("bootstrapCertificate")) {
            try {
                fingerprint = TlsMaterial.fingerprint(Pem.parse(required(body, "bootstrapCertificate"), "bootstrapCertificate").get(0));
            } catch (IOException e) {
                throw EstError.of(400, e.getMessage());
            }
        } else {
            fingerprint = required(body, "bootstrapFingerprint").toLowerCase(java.util.Locale.ROOT).replace(":", "");
            if (!FINGERPRINT.matcher(fingerprint).matches()) {
                throw EstError.of(400, "bootstrapFingerprint must be the SHA-256 of the certificate, 64 hex digits");
            }
        }
        CertSubjectType type;
        try {
            type = CertSubjectType.parse(String.valueOf(body.getValue("certSubjectType")));
        } catch (IllegalArgumentException e) {
            throw EstError.of(400, e.getMessage());
        }
        String subjectId = required(body, "certSubjectID");
        if (type == CertSubjectType.CSE_ID ? !DNS_NAME.matcher(subjectId).matches() : !URI_TEXT.matcher(subjectId).matches()) {
            throw EstError.of(400, "certSubjectID '" + subjectId + "' is not a valid " + type
                    + (type == CertSubjectType.CSE_ID ? " (a DNS name)" : " (a URI without spaces or control characters)"));
        }
        Set<Integer> suids = new HashSet<>();
        JsonArray array = body.getJsonArray("suids", new JsonArray());
        for (Object o : array) {
            if (!(o instanceof Integer s) || s < 40 || s > 45) {
                throw EstError.of(400, "suids must be numbers from 40 to 45 (TS-0004 m2m:suid), not " + o);
            }
            suids.add(s);
        }
        return new StoredEnrolee(new RegisteredEnrolee(id, type, subjectId, suids), fingerprint,
                StoredEnrolee.Command.CERT_PROV, clock.instant(), Optional.empty());
    }

    private static String required(JsonObject body, String key) {
        Object v = body.getValue(key);
        if (!(v instanceof String s) || s.isBlank()) {
            throw EstError.of(400, "missing or empty field '" + key + "'");
        }
        return s.strip();
    }

    private void listEnrolees(RoutingContext ctx) {
        storeWorkers.executeBlocking(store::enrolees, false)
                .onSuccess(list -> json(ctx, 200, new JsonArray(list.stream().map(AdminApi::toJson).toList())))
                .onFailure(ctx::fail);
    }

    private void listCertificates(RoutingContext ctx) {
        storeWorkers.executeBlocking(store::certificates, false)
                .onSuccess(list -> json(ctx, 200, new JsonArray(list.stream().map(AdminApi::toJson).toList())))
                .onFailure(ctx::fail);
    }

    static JsonObject toJson(StoredEnrolee e) {
        return new JsonObject()
                .put("id", e.enrolee().id())
                .put("bootstrapFingerprint", e.bootstrapFingerprint())
                .put("certSubjectType", e.enrolee().type().code())
                .put("certSubjectID", e.enrolee().certSubjectId())
                .put("suids", new JsonArray(e.enrolee().suids().stream().sorted().toList()))
                .put("command", e.command().name())
                .put("lastResult", e.commandResult().map(Enum::name).orElse(null))
                .put("registeredAt", e.registeredAt().toString());
    }

    static JsonObject toJson(IssuedCertificate c) {
        return new JsonObject()
                .put("serial", c.serialHex())
                .put("enroleeId", c.enroleeId())
                .put("profile", c.profile())
                .put("subject", c.subject())
                .put("subjectAltNames", c.subjectAltNames())
                .put("notBefore", c.notBefore().toString())
                .put("notAfter", c.notAfter().toString())
                .put("status", c.status())
                .put("issuedAt", c.issuedAt().toString())
                .put("certificate", java.util.Base64.getEncoder().encodeToString(c.der()));
    }

    private static void json(RoutingContext ctx, int status, Object body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                .end(body instanceof JsonObject o ? o.encodePrettily() : ((JsonArray) body).encodePrettily());
    }
}
