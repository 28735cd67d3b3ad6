package org.mefgateway.gateway.admin;

import org.mefgateway.gateway.ErrorResponses;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.OperationException;
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
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.Responses;
import org.mefgateway.gateway.Routes;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.core.PolicyDirectory;
import org.mefgateway.gateway.publication.RevocationPublisher;
import org.mefgateway.gateway.core.ApprovalQueue;
import org.mefgateway.gateway.core.ChallengeIssuer;
import org.mefgateway.gateway.store.HeldRequest;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.gateway.store.AuditChain;
import org.mefgateway.gateway.store.AuditEvent;
import org.mefgateway.gateway.store.CertificateFilter;
import org.mefgateway.gateway.store.DuplicateException;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.gateway.store.RevocationReason;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.hsm.CaKeys;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.RegisteredEnrolee;
import org.mefgateway.policy.SignatureVerification;
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

    /** The routing-context key of the authenticated operator, as audit events name them. */
    private static final String OPERATOR = "operator";

    private static final Pattern SERIAL = Pattern.compile("[0-9A-Fa-f:]{1,64}");

    private final Store store;
    private final CaKeys caKeys;
    private final PolicyDirectory policies;
    private final String tlsEngine;
    private final ApprovalQueue approvals;
    private final RevocationPublisher revocations;
    private final WorkerExecutor storeWorkers;
    private final Set<String> operatorFingerprints;
    private final PrometheusMeterRegistry meters;
    private final Clock clock;
    private final ChallengeIssuer challenges;
    /** The SCEP URI a SCEP instruction names (its listener's bound port once it listens); null when SCEP is disabled. */
    private final Supplier<String> scepUri;

    public AdminApi(Store store, CaKeys caKeys, RevocationPublisher revocations, PolicyDirectory policies, ApprovalQueue approvals,
                    ChallengeIssuer challenges, WorkerExecutor storeWorkers, List<X509Certificate> operators, PrometheusMeterRegistry meters,
                    Clock clock, String tlsEngine, Supplier<String> scepUri) {
        this.tlsEngine = tlsEngine;
        this.challenges = challenges;
        this.scepUri = scepUri;
        this.policies = policies;
        this.approvals = approvals;
        this.meters = meters;
        this.store = store;
        this.caKeys = caKeys;
        this.revocations = revocations;
        this.storeWorkers = storeWorkers;
        Set<String> fps = new HashSet<>();
        operators.forEach(c -> fps.add(TlsMaterial.fingerprint(c)));
        this.operatorFingerprints = Set.copyOf(fps);
        this.clock = clock;
    }

    public Router router(Vertx vertx) {
        Router router = Router.router(vertx);
        Routes routes = new Routes(router);
        routes.get("/health/live").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
        routes.get("/health/ready").handler(this::ready);
        // Like the probes, unauthenticated: Prometheus scrapes it, and it holds no secret.
        routes.get("/metrics").handler(ctx -> Responses.end(ctx.response(), "text/plain; version=0.0.4; charset=utf-8", meters.scrape()));
        router.route("/admin/*").handler(this::requireOperator);
        routes.post("/admin/enrolees").handler(BodyHandler.create(false).setBodyLimit(64 * 1024)).handler(this::registerEnrolee);
        routes.get("/admin/enrolees").handler(this::listEnrolees);
        routes.get("/admin/certificates").handler(this::listCertificates);
        routes.post("/admin/policy/reload").handler(this::reloadPolicy);
        routes.post("/admin/enrolees/:id/instruct").handler(BodyHandler.create(false).setBodyLimit(16 * 1024)).handler(this::instruct);
        routes.delete("/admin/enrolees/:id").handler(this::removeEnrolee);
        routes.get("/admin/requests").handler(this::listRequests);
        routes.post("/admin/requests/:id/approve").handler(this::approve);
        routes.post("/admin/requests/:id/reject").handler(BodyHandler.create(false).setBodyLimit(16 * 1024)).handler(this::reject);
        routes.get("/admin/policy").handler(ctx -> json(ctx, 200, profilesJson()));
        routes.post("/admin/certificates/:serial/revoke").handler(BodyHandler.create(false).setBodyLimit(4 * 1024)).handler(this::revoke);
        routes.get("/admin/audit/verify").handler(this::verifyAudit);
        ErrorResponses.install(router, routes);
        return router;
    }

    private void requireOperator(RoutingContext ctx) {
        Optional<X509Certificate> client = TlsMaterial.clientCertificate(ctx.request());
        if (client.isEmpty()) {
            ctx.fail(OperationException.of(ErrorCode.NOT_AUTHENTICATED, "the admin API needs an operator's TLS client certificate"));
        } else if (!operatorFingerprints.contains(TlsMaterial.fingerprint(client.get()))) {
            ctx.fail(OperationException.of(ErrorCode.NOT_PERMITTED, "this client certificate is not an operator's"));
        } else {
            ctx.put(OPERATOR, "operator:" + TlsMaterial.fingerprint(client.get()).substring(0, 16));
            ctx.next();
        }
    }

    /**
     * Ready when the store answers, every CA key has a token in service that signs a probe (a
     * busy token counts as up; an open circuit fails at once) and at least one profile is loaded
     * (without one every enrolment would be a 404); the detail says which is down and lists the
     * profiles in use.
     */
    private void ready(RoutingContext ctx) {
        Future<Void> storeUp = storeWorkers.executeBlocking(() -> {
            store.ping();
            return null;
        }, false);
        Future<Void> hsmUp = Future.fromCompletionStage(caKeys.probe());
        List<String> profiles = List.copyOf(policies.profiles().keySet());
        boolean policyUp = !profiles.isEmpty();
        Future.join(storeUp, hsmUp).onComplete(ar -> {
            boolean up = ar.succeeded() && policyUp;
            JsonObject detail = new JsonObject()
                    .put("status", up ? "UP" : "DOWN")
                    .put("store", storeUp.succeeded() ? "UP" : "DOWN")
                    .put("hsm", hsmUp.succeeded() ? "UP" : "DOWN")
                    .put("policy", policyUp ? "UP" : "DOWN")
                    .put("profiles", new JsonArray(profiles))
                    // ACCP (native) or BouncyCastle (the fallback); why it fell back is in the start log only.
                    .put("csr_verify_provider", SignatureVerification.provider())
                    // The EST listener's TlsEngine, "openssl" or "jdk"; why, in the start log only.
                    .put("tls_engine", tlsEngine);
            json(ctx, up ? 200 : 503, detail);
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
                audited(ctx, "policy.reloaded", "policy:" + policies.dir(), "profiles=" + ar.result())
                        .onSuccess(v -> json(ctx, 200, profilesJson())).onFailure(ctx::fail);
            } else if (ar.cause() instanceof ProfileException e) {
                LOG.warn("policy reload refused, profiles unchanged: {}", LogText.safe(e.getMessage().replace("\n", " ")));
                audited(ctx, "policy.reload-refused", "policy:" + policies.dir(), e.getMessage())
                        .onComplete(v -> ctx.fail(OperationException.of(ErrorCode.INVALID, e.getMessage())));
            } else {
                ctx.fail(ar.cause());
            }
        });
    }

    /**
     * Re-instructs an Enrolee (TS-0003 8.3.9.7): a new CERT_PROV command lets its bootstrap
     * credential enrol once more. A body {@code {"profiles": [...]}} also moves it to those
     * profiles (the first is the one the command names); {@code "certProvProtocolID": "SCEP"}
     * names SCEP instead of EST, and the answer carries the SCEP URI and the challengePassword
     * for the device.
     */
    private void instruct(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        Optional<List<String>> profiles;
        StoredEnrolee.CertProvProtocol protocol;
        try {
            JsonObject body = ctx.body().isEmpty() ? new JsonObject() : ctx.body().asJsonObject();
            profiles = body.containsKey("profiles") ? Optional.of(profiles(body)) : Optional.empty();
            protocol = protocol(body);
        } catch (DecodeException | ClassCastException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "the body is not a JSON object"));
            return;
        } catch (OperationException e) {
            ctx.fail(e);
            return;
        }
        AuditEvent.Draft audit = audit(ctx, "enrolee.instructed", "enrolee:" + id,
                "command=CERT_PROV protocol=" + protocol + profiles.map(p -> " profiles=" + p).orElse(""));
        Future.fromCompletionStage(store.instruct(id, profiles, protocol, clock.instant(), audit)).compose(found -> {
            if (!found) {
                return Future.failedFuture(OperationException.of(ErrorCode.NOT_FOUND, "no Enrolee '" + LogText.safe(id) + "'"));
            }
            LOG.info("operator instructed enrolee={} (CERT_PROV {}){}", LogText.safe(id), protocol, profiles.map(p -> " profiles=" + p).orElse(""));
            JsonObject answer = new JsonObject().put("id", id).put("command", StoredEnrolee.Command.CERT_PROV.name())
                    .put("certProvProtocolID", protocol.name());
            profiles.ifPresent(p -> answer.put("profiles", new JsonArray(p)));
            if (protocol == StoredEnrolee.CertProvProtocol.EST) {
                return Future.succeededFuture(answer);
            }
            return storeWorkers.executeBlocking(() -> store.enrolee(id).orElseThrow(
                            () -> OperationException.of(ErrorCode.NOT_FOUND, "no Enrolee '" + LogText.safe(id) + "'")), false)
                    .compose(enrolee -> withScepChallenge(answer, enrolee));
        }).onSuccess(answer -> json(ctx, 200, answer)).onFailure(ctx::fail);
    }

    /**
     * certProvProtocolID of an instruction or registration (TS-0003 12.3.2.5): EST unless the body
     * says SCEP. SCEP only where this MEF serves it: an instruction naming a protocol the device
     * cannot reach would strand it.
     */
    private StoredEnrolee.CertProvProtocol protocol(JsonObject body) {
        Object value = body.getValue("certProvProtocolID", "EST");
        for (StoredEnrolee.CertProvProtocol p : StoredEnrolee.CertProvProtocol.values()) {
            if (p.name().equals(value)) {
                if (p == StoredEnrolee.CertProvProtocol.SCEP && scepUri.get() == null) {
                    throw OperationException.of(ErrorCode.BAD_REQUEST, "this MEF does not serve SCEP (scep.enabled: false): "
                            + "instruct with certProvProtocolID EST, or enable SCEP");
                }
                return p;
            }
        }
        throw OperationException.of(ErrorCode.BAD_REQUEST, "certProvProtocolID must be EST or SCEP, not '" + LogText.safe(String.valueOf(value)) + "'");
    }

    /**
     * A SCEP instruction's answer: the SCEP URI and the one-time challengePassword the operator's
     * provisioning system gives the device (TS-0003 8.3.6.3; SCEP has no csrattrs to fetch it).
     */
    private Future<JsonObject> withScepChallenge(JsonObject answer, StoredEnrolee enrolee) {
        return challenges.issueFor(enrolee).map(challenge -> answer.put("URI", scepUri.get()).put("challenge", challenge));
    }

    /**
     * The profiles a registration may use: names of profiles this gateway serves ("" or "default"
     * for requests without a label), the one the CERT_PROV command names first.
     */
    private List<String> profiles(JsonObject body) {
        JsonArray array = body.getJsonArray("profiles");
        if (array == null || array.isEmpty()) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "profiles must be a non-empty list of profile names");
        }
        List<String> out = new java.util.ArrayList<>();
        for (Object o : array) {
            String name = o instanceof String text ? PolicyDirectory.profileOf(text.strip()) : null;
            if (name == null || policies.forProfile(name).isEmpty()) {
                throw OperationException.of(ErrorCode.BAD_REQUEST, "profiles: '" + LogText.safe(String.valueOf(o))
                        + "' is not a profile this gateway serves; it serves "
                        + policies.profiles().keySet());
            }
            if (!out.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    /** Removes a registration; the certificates it obtained stay in the ledger. */
    private void removeEnrolee(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        Future.fromCompletionStage(store.removeEnrolee(id, audit(ctx, "enrolee.removed", "enrolee:" + id, ""))).compose(found -> {
            if (!found) {
                return Future.failedFuture(OperationException.of(ErrorCode.NOT_FOUND, "no Enrolee '" + LogText.safe(id) + "'"));
            }
            LOG.info("operator removed enrolee={}", LogText.safe(id));
            return Future.<Void>succeededFuture();
        }).onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(ctx::fail);
    }

    /** Requests held for approval; {@code ?status=PENDING} (or APPROVED, REJECTED) filters. */
    private void listRequests(RoutingContext ctx) {
        Optional<HeldRequest.Status> status;
        try {
            status = Optional.ofNullable(ctx.queryParams().get("status")).map(HeldRequest.Status::valueOf);
        } catch (IllegalArgumentException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "status must be PENDING, APPROVED or REJECTED"));
            return;
        }
        storeWorkers.executeBlocking(() -> store.heldRequests(status), false)
                .compose(list -> audited(ctx, "requests.listed", "requests", "count=" + list.size()
                        + status.map(st -> " status=" + st).orElse("")).map(list))
                .onSuccess(list -> json(ctx, 200, new JsonArray(list.stream().map(AdminApi::toJson).toList())))
                .onFailure(ctx::fail);
    }

    private void approve(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        approvals.approve(id)
                .compose(cert -> audited(ctx, "request.approved", "request:" + id, "serial=" + cert.serialHex()
                        + " enrolee=" + cert.enroleeId()).map(v -> cert))
                .onSuccess(cert -> json(ctx, 200, new JsonObject().put("id", id).put("status", "APPROVED")
                        .put("serial", cert.serialHex())))
                .onFailure(ctx::fail);
    }

    private void reject(RoutingContext ctx) {
        String reason;
        try {
            JsonObject body = ctx.body().isEmpty() ? new JsonObject() : ctx.body().asJsonObject();
            reason = body.getString("reason", "rejected by the operator");
        } catch (DecodeException | ClassCastException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "the body is not a JSON object with a reason"));
            return;
        }
        if (reason.length() > 1024) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "the reason is longer than 1024 characters"));
            return;
        }
        String id = ctx.pathParam("id");
        approvals.reject(id, reason)
                .compose(x -> audited(ctx, "request.rejected", "request:" + id, "reason=" + reason))
                .onSuccess(x -> json(ctx, 200, new JsonObject().put("id", id).put("status", "REJECTED")))
                .onFailure(ctx::fail);
    }

    static JsonObject toJson(HeldRequest r) {
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
                throw OperationException.of(ErrorCode.BAD_REQUEST, "expected a JSON object");
            }
            enrolee = parseEnrolee(body);
        } catch (DecodeException | ClassCastException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "the body is not a JSON object"));
            return;
        } catch (OperationException e) {
            ctx.fail(e);
            return;
        }
        register(ctx, enrolee);
    }

    /** Registers the Enrolee and audits it in one transaction; 409 when its id or bootstrap certificate is taken. */
    private void register(RoutingContext ctx, StoredEnrolee e) {
        AuditEvent.Draft audit = audit(ctx, "enrolee.registered", "enrolee:" + e.enrolee().id(),
                "type=" + e.enrolee().type() + " subject=" + e.enrolee().certSubjectId() + " suids=" + e.enrolee().suids()
                        + " profiles=" + e.profiles() + " protocol=" + e.protocol() + " bootstrap=" + e.bootstrapFingerprint());
        Future.fromCompletionStage(store.registerEnrolee(e, audit)).onSuccess(registration -> {
            switch (registration) {
                case ID_TAKEN -> ctx.fail(OperationException.of(ErrorCode.CONFLICT,
                        "an Enrolee with id '" + e.enrolee().id() + "' is already registered"));
                case FINGERPRINT_TAKEN -> ctx.fail(OperationException.of(ErrorCode.CONFLICT,
                        "this bootstrap certificate is already registered for another Enrolee"));
                case REGISTERED -> {
                    LOG.info("operator registered enrolee={} type={} subject={} suids={} profiles={} protocol={}", e.enrolee().id(),
                            e.enrolee().type(), LogText.safe(e.enrolee().certSubjectId()), e.enrolee().suids(), e.profiles(), e.protocol());
                    if (e.protocol() == StoredEnrolee.CertProvProtocol.EST) {
                        json(ctx, 201, toJson(e));
                    } else {
                        withScepChallenge(toJson(e), e).onSuccess(answer -> json(ctx, 201, answer)).onFailure(ctx::fail);
                    }
                }
            }
        }).onFailure(failure -> ctx.fail(failure instanceof DuplicateException d ? OperationException.of(ErrorCode.CONFLICT, d.getMessage())
                : failure));
    }

    private StoredEnrolee parseEnrolee(JsonObject body) {
        String id = required(body, "id");
        if (!ENROLEE_ID.matcher(id).matches()) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "id must be 1-128 characters of A-Z a-z 0-9 . _ : -");
        }
        String fingerprint;
        if (body.containsKey("bootstrapCertificate")) {
            try {
                fingerprint = TlsMaterial.fingerprint(Pem.parse(required(body, "bootstrapCertificate"), "bootstrapCertificate").get(0));
            } catch (IOException e) {
                throw OperationException.of(ErrorCode.BAD_REQUEST, e.getMessage());
            }
        } else {
            fingerprint = required(body, "bootstrapFingerprint").toLowerCase(java.util.Locale.ROOT).replace(":", "");
            if (!FINGERPRINT.matcher(fingerprint).matches()) {
                throw OperationException.of(ErrorCode.BAD_REQUEST, "bootstrapFingerprint must be the SHA-256 of the certificate, 64 hex digits");
            }
        }
        CertSubjectType type;
        try {
            type = CertSubjectType.parse(String.valueOf(body.getValue("certSubjectType")));
        } catch (IllegalArgumentException e) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, e.getMessage());
        }
        String subjectId = required(body, "certSubjectID");
        if (type == CertSubjectType.CSE_ID ? !DNS_NAME.matcher(subjectId).matches() : !URI_TEXT.matcher(subjectId).matches()) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "certSubjectID '" + subjectId + "' is not a valid " + type
                    + (type == CertSubjectType.CSE_ID ? " (a DNS name)" : " (a URI without spaces or control characters)"));
        }
        Set<Integer> suids = new HashSet<>();
        JsonArray array = body.getJsonArray("suids", new JsonArray());
        for (Object o : array) {
            if (!(o instanceof Integer s) || s < 40 || s > 45) {
                throw OperationException.of(ErrorCode.BAD_REQUEST, "suids must be numbers from 40 to 45 (TS-0004 m2m:suid), not " + o);
            }
            suids.add(s);
        }
        List<String> profiles = body.containsKey("profiles") ? profiles(body) : List.of(PolicyDirectory.profileOf(""));
        Instant now = clock.instant();
        return new StoredEnrolee(new RegisteredEnrolee(id, type, subjectId, suids), fingerprint,
                StoredEnrolee.Command.CERT_PROV, now, Optional.empty(), profiles, now, protocol(body));
    }

    private static String required(JsonObject body, String key) {
        Object v = body.getValue(key);
        if (!(v instanceof String s) || s.isBlank()) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "missing or empty field '" + key + "'");
        }
        return s.strip();
    }

    private void listEnrolees(RoutingContext ctx) {
        // Audited like the certificate export: the list holds every Enrolee's bootstrap fingerprint.
        storeWorkers.executeBlocking(store::enrolees, false)
                .compose(list -> audited(ctx, "enrolees.listed", "enrolees", "count=" + list.size()).map(list))
                .onSuccess(list -> json(ctx, 200, new JsonArray(list.stream().map(AdminApi::toJson).toList())))
                .onFailure(ctx::fail);
    }

    /**
     * The ledger, filtered by {@code enrolee}, {@code status} (ISSUED, REVOKED) and
     * {@code expiresBefore} (ISO-8601 instant or date), as JSON (default), {@code format=pem} or
     * {@code format=csv}.
     */
    private void listCertificates(RoutingContext ctx) {
        CertificateFilter filter;
        String format = Optional.ofNullable(ctx.request().getParam("format")).orElse("json").toLowerCase(java.util.Locale.ROOT);
        try {
            filter = filter(ctx);
            if (!List.of("json", "pem", "csv").contains(format)) {
                throw OperationException.of(ErrorCode.BAD_REQUEST, "format must be json, pem or csv, not '" + format + "'");
            }
        } catch (OperationException e) {
            ctx.fail(e);
            return;
        }
        storeWorkers.executeBlocking(() -> store.certificates(filter), false)
                .compose(list -> audited(ctx, "certificates.exported", "ledger", "format=" + format + " count=" + list.size()
                        + " filter=" + filter).map(list))
                .onSuccess(list -> {
                    switch (format) {
                        case "pem" -> Responses.end(ctx.response(), "application/pem-certificate-chain", CertificateExport.pem(list));
                        case "csv" -> Responses.end(ctx.response(), "text/csv; charset=utf-8", CertificateExport.csv(list));
                        default -> json(ctx, 200, new JsonArray(list.stream().map(AdminApi::toJson).toList()));
                    }
                })
                .onFailure(ctx::fail);
    }

    private static CertificateFilter filter(RoutingContext ctx) {
        Optional<String> enrolee = Optional.ofNullable(ctx.request().getParam("enrolee")).filter(s -> !s.isBlank());
        if (enrolee.isPresent() && !ENROLEE_ID.matcher(enrolee.get()).matches()) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "enrolee must be an Enrolee id (1-128 characters of A-Z a-z 0-9 . _ : -)");
        }
        Optional<String> statusText = Optional.ofNullable(ctx.request().getParam("status")).filter(s -> !s.isBlank())
                .map(s -> s.toUpperCase(java.util.Locale.ROOT));
        Optional<IssuedCertificate.Status> status;
        try {
            status = statusText.map(IssuedCertificate.Status::valueOf);
        } catch (IllegalArgumentException e) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "status must be ISSUED or REVOKED, not '" + statusText.get() + "'");
        }
        Optional<java.time.Instant> expiresBefore;
        try {
            expiresBefore = Optional.ofNullable(ctx.request().getParam("expiresBefore")).filter(s -> !s.isBlank()).map(AdminApi::instant);
        } catch (java.time.format.DateTimeParseException e) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "expiresBefore must be a date (2027-01-31) or an instant (2027-01-31T12:00:00Z)");
        }
        return new CertificateFilter(enrolee, status, expiresBefore);
    }

    private static java.time.Instant instant(String text) {
        return text.contains("T") ? java.time.Instant.parse(text)
                : java.time.LocalDate.parse(text).atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
    }

    /**
     * Revokes a certificate of this CA (body {"reason": "keyCompromise"}, default unspecified),
     * then signs a new CRL of the certificate's CA key so the revocation is published at once (while
     * the key cannot sign, again every few seconds until it can). OCSP reads the ledger on every
     * request and answers revoked at once, on every node.
     */
    private void revoke(RoutingContext ctx) {
        String serial;
        RevocationReason reason;
        try {
            serial = normalisedSerial(ctx.pathParam("serial"));
            JsonObject body = ctx.body().length() == 0 ? new JsonObject() : ctx.body().asJsonObject();
            Object r = body == null ? null : body.getValue("reason");
            if (r != null && !(r instanceof String)) {
                throw OperationException.of(ErrorCode.BAD_REQUEST, "reason must be a string such as \"keyCompromise\"");
            }
            reason = r == null ? RevocationReason.UNSPECIFIED : RevocationReason.parse((String) r);
        } catch (DecodeException | ClassCastException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, "the body is not a JSON object"));
            return;
        } catch (OperationException e) {
            ctx.fail(e);
            return;
        } catch (IllegalArgumentException e) {
            ctx.fail(OperationException.of(ErrorCode.BAD_REQUEST, e.getMessage()));
            return;
        }
        String operator = ctx.get(OPERATOR);
        Future.fromCompletionStage(store.revoke(serial, reason, clock.instant(), operator)).onSuccess(outcome -> {
            switch (outcome) {
                case UNKNOWN_SERIAL -> ctx.fail(OperationException.of(ErrorCode.NOT_FOUND, "this CA issued no certificate with serial " + serial));
                case ALREADY_REVOKED -> ctx.fail(OperationException.of(ErrorCode.CONFLICT, "certificate " + serial + " is already revoked"));
                default -> {
                    LOG.info("{} revoked serial={} reason={}", operator, serial, reason.rfcName());
                    // The revocation is durable; a CRL that cannot be signed now is retried until it is.
                    revocations.afterRevocation(serial).onComplete(signed -> {
                        JsonObject answer = new JsonObject().put("serial", serial).put("status", IssuedCertificate.Status.REVOKED.name())
                                .put("reason", reason.rfcName());
                        signed.result().ifPresent(number -> answer.put("crlNumber", number));
                        json(ctx, 200, answer);
                    });
                }
            }
        }).onFailure(ctx::fail);
    }

    /** Hex with or without colons, any case, leading zeros ignored: the ledger's form (BigInteger hex). */
    static String normalisedSerial(String text) {
        if (text == null || !SERIAL.matcher(text).matches()) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "a serial number is hexadecimal (colons allowed), such as 5f3a09c1");
        }
        java.math.BigInteger serial = new java.math.BigInteger(text.replace(":", ""), 16);
        if (serial.signum() == 0) {
            throw OperationException.of(ErrorCode.BAD_REQUEST, "serial number 0 is never issued");
        }
        return serial.toString(16);
    }

    /** Checks the audit chain; 200 with the verdict either way (the check itself worked). */
    private void verifyAudit(RoutingContext ctx) {
        storeWorkers.executeBlocking(store::verifyAuditChain, false)
                .compose(v -> audited(ctx, "audit.verified", "audit-log", v.intact() ? "intact events=" + v.events()
                        : "broken at " + v.brokenLink().orElseThrow().seq()).map(v))
                .onSuccess(v -> json(ctx, 200, toJson(v)))
                .onFailure(ctx::fail);
    }

    static JsonObject toJson(AuditChain.Verification v) {
        JsonObject o = new JsonObject().put("intact", v.intact()).put("verifiedEvents", v.events()).put("headHash", v.headHash());
        v.brokenLink().ifPresent(b -> o.put("firstBrokenSeq", b.seq()).put("reason", b.reason()));
        return o;
    }

    /** Records an operator's action in the audit log; completes once it is durable. */
    private Future<Void> audited(RoutingContext ctx, String type, String subject, String detail) {
        return Future.fromCompletionStage(store.audit(audit(ctx, type, subject, detail)));
    }

    /** The audit event of an operator's action, for the store to commit with the change it describes. */
    private AuditEvent.Draft audit(RoutingContext ctx, String type, String subject, String detail) {
        return new AuditEvent.Draft(clock.instant(), type, ctx.get(OPERATOR), subject, detail);
    }

    static JsonObject toJson(StoredEnrolee e) {
        return new JsonObject()
                .put("id", e.enrolee().id())
                .put("bootstrapFingerprint", e.bootstrapFingerprint())
                .put("certSubjectType", e.enrolee().type().code())
                .put("certSubjectID", e.enrolee().certSubjectId())
                .put("suids", new JsonArray(e.enrolee().suids().stream().sorted().toList()))
                .put("profiles", new JsonArray(e.profiles()))
                .put("command", e.command().name())
                .put("certProvProtocolID", e.protocol().name())
                .put("lastResult", e.commandResult().map(Enum::name).orElse(null))
                .put("registeredAt", e.registeredAt().toString())
                .put("instructedAt", e.instructedAt().toString());
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
                .put("status", c.status().name())
                .put("issuedAt", c.issuedAt().toString())
                .put("certificate", java.util.Base64.getEncoder().encodeToString(c.der()));
    }

    private static void json(RoutingContext ctx, int status, Object body) {
        Responses.end(ctx.response().setStatusCode(status), "application/json",
                body instanceof JsonObject o ? o.encodePrettily() : ((JsonArray) body).encodePrettily());
    }
}
