package org.mefgateway.gateway;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.ext.web.Router;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import org.mefgateway.gateway.admin.AdminApi;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.ca.CrlPublisher;
import org.mefgateway.gateway.ca.DelegatedResponder;
import org.mefgateway.gateway.ca.OcspResponder;
import org.mefgateway.gateway.publication.PublicationApi;
import org.mefgateway.gateway.publication.RevocationPublisher;
import org.mefgateway.gateway.core.EnrolmentCore;
import org.mefgateway.gateway.core.EnrolmentSteps;
import org.mefgateway.gateway.est.EstApi;
import org.mefgateway.gateway.est.EstMetrics;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.CaKeys;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.RaKey;
import org.mefgateway.gateway.scep.ScepAdmission;
import org.mefgateway.gateway.scep.ScepApi;
import org.mefgateway.gateway.scep.ScepConfig;
import org.mefgateway.gateway.scep.ScepMetrics;
import org.mefgateway.gateway.core.PolicyDirectory;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.policy.SignatureVerification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running MEF: the token, the store, and the EST and admin listeners wired together. */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
    /** TS-0003 10.2 and the brief: TLS 1.2 at least, 1.3 preferred. */
    static final Set<String> TLS_PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");
    /**
     * The cipher suites both listeners offer, in the server's order of preference: TLS 1.3's AEAD
     * suites, then TLS 1.2 ECDHE with AEAD, and last the one TS-0003 10.2 names for TLS 1.2
     * (TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256), kept for devices that implement only that (on
     * JSSE only: BoringSSL lacks it, see {@link TlsEngine#offers}). The
     * server key is EC P-256 (made by init), so only ECDSA suites apply; no RSA key exchange, no
     * SHA-1 MAC, no 3DES, no static DH.
     */
    static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256");

    private final Vertx vertx;
    private final CaKeys caKeys;
    private final Store store;
    private final HttpServer est;
    private final HttpServer admin;
    private final HttpServer publication;
    private final PrometheusMeterRegistry meters;
    private final JvmGcMetrics gcMetrics;
    private final List<DelegatedResponder> responders;
    private final EnrolmentSteps enrolmentSteps;
    private final RaKey raKey;

    private Gateway(Vertx vertx, CaKeys caKeys, Store store, HttpServer est, HttpServer admin,
                    HttpServer publication, PrometheusMeterRegistry meters, JvmGcMetrics gcMetrics, List<DelegatedResponder> responders,
                    EnrolmentSteps enrolmentSteps, RaKey raKey) {
        this.raKey = raKey;
        this.responders = responders;
        this.enrolmentSteps = enrolmentSteps;
        this.publication = publication;
        this.meters = meters;
        this.gcMetrics = gcMetrics;
        this.vertx = vertx;
        this.caKeys = caKeys;
        this.store = store;
        this.est = est;
        this.admin = admin;
    }

    /** The CPU-bound steps of enrolments, for observing which threads they run on. */
    public EnrolmentSteps enrolmentSteps() {
        return enrolmentSteps;
    }

    /** Starts the gateway and returns once both listeners accept connections. */
    public static Gateway start(GatewayConfig config, Clock clock) throws Exception {
        refuseClientInitiatedRenegotiation();
        DataDir data = config.dataDir();
        for (var required : List.of(data.tlsServerKeyStore(), data.tlsServerPassword())) {
            if (!Files.exists(required)) {
                throw new ConfigException(required + " is missing: run 'mefgate init' first");
            }
        }
        // Before the store opens: what an older version or a looser umask left readable is closed first.
        data.restrictToOwner();
        PolicyDirectory policies;
        try {
            policies = PolicyDirectory.load(config.policyDir(),
                    config.caKeys().stream().map(CaKeyConfig::name).collect(java.util.stream.Collectors.toSet()));
        } catch (ProfileException e) {
            throw new ConfigException(e.getMessage());
        }
        LOG.info("policy: profiles {} from {}", policies.profiles().keySet(), config.policyDir());
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        JvmGcMetrics gcMetrics = new JvmGcMetrics();
        for (var binder : List.of(new JvmMemoryMetrics(), gcMetrics, new JvmThreadMetrics(), new ClassLoaderMetrics(),
                new ProcessorMetrics(), new UptimeMetrics())) {
            binder.bindTo(meters);
        }
        Vertx vertx = null;
        Store store = null;
        CaKeys caKeys = null;
        RaKey raKey = null;
        List<DelegatedResponder> responders = new java.util.ArrayList<>();
        try {
            // Token writes before any signer opens (none while signing): keys added since init get their responder key.
            for (CaKeyConfig key : config.caKeys()) {
                DelegatedResponder.ensureKey(key, LOG::info);
            }
            // The RA key belongs to the CA key that serves SCEP. A data directory made before SCEP,
            // or a CA key added since, has none yet: made here, once (one log line); with SCEP
            // disabled the token is left as it is.
            CaKeyConfig scepCaKey = scepCaKey(config, policies);
            if (config.scep().enabled()) {
                RaKey.ensure(scepCaKey.primary(), LOG::info);
            }
            caKeys = CaKeys.open(config.caKeys(), meters);
            GatewayConfig.StoreConfig storeConfig = config.store();
            store = Store.open(storeConfig.url(data), storeConfig.user(), storeConfig.password(), storeConfig.poolSize(), meters);
            vertx = vertxWithMetrics(meters);
            WorkerExecutor storeWorkers = vertx.createSharedWorkerExecutor("mef-store", storeConfig.poolSize());
            WorkerExecutor cpuWorkers = vertx.createSharedWorkerExecutor("mef-cpu", Runtime.getRuntime().availableProcessors());

            // One CA per configured key; each profile names the one that signs for it (caKey).
            java.util.Map<String, CertificateAuthority> cas = new java.util.HashMap<>();
            for (String name : caKeys.names()) {
                cas.put(name, new CertificateAuthority(caKeys.signer(name).orElseThrow()));
            }
            for (var ca : cas.entrySet()) {
                double notAfter = ca.getValue().caCertificate().getNotAfter().getTime() / 1000.0;
                Gauge.builder("mef.ca.certificate.not.after", () -> notAfter)
                        .description("notAfter of the CA certificate of each CA key, in seconds since the epoch")
                        .tag("key", ca.getKey())
                        .baseUnit("seconds")
                        .register(meters);
            }
            // The CSR verification provider is chosen once per JVM (SignatureVerification); the reason for a fallback
            // goes to the log only, not to the unauthenticated /health/ready.
            LOG.info("CSR signature verification: {}{}", SignatureVerification.provider(),
                    SignatureVerification.fallbackReason().map(reason -> " (fallback: " + reason + ")").orElse(""));
            Gauge.builder("mef.crypto.provider.info", () -> 1)
                    .description("the JCA provider in use, by use (csr_verify: CSR proof-of-possession verification)")
                    .tag("use", "csr_verify")
                    .tag("provider", SignatureVerification.provider())
                    .register(meters);
            EnrolmentCore core = EnrolmentCore.create(vertx, store, policies, cas, storeWorkers, cpuWorkers, meters, clock);
            KeyManagerFactory serverKeys = TlsMaterial.keyManagers(data.tlsServerKeyStore(), data.tlsServerPassword());

            List<X509Certificate> bootstrapAnchors = TlsMaterial.certificatesIn(config.est().bootstrapTrustDir());
            if (bootstrapAnchors.isEmpty()) {
                LOG.warn("no bootstrap trust anchors in {}: no Enrolee can authenticate until the operator adds its maker's CA there",
                        config.est().bootstrapTrustDir());
            }
            EstMetrics estMetrics = new EstMetrics(meters, label -> policies.forLabel(label).isPresent());
            // SCEP (RFC 8894), by default beside CRL and OCSP: plain HTTP, the messages protect
            // themselves (CMS); over HTTPS on the EST listener where scep.listeners says so.
            // Disabled, it has no routes and its RA key is not opened.
            ScepConfig scepConfig = config.scep();
            ScepApi scep = null;
            if (scepConfig.enabled()) {
                raKey = RaKey.open(scepCaKey.primary());
                scep = new ScepApi(core, policies, raKey, scepCaKey.name(), cas.get(scepCaKey.name()).chain(),
                        vertx.createSharedWorkerExecutor("mef-scep", 2), store, storeWorkers, clock, scepConfig,
                        new ScepAdmission(scepConfig, meters), new ScepMetrics(meters));
            }
            // The SCEP URI that SCEP instructions name (TS-0003 8.3.9.7): as configured, and with the
            // bound port once its listener listens (a port of 0 is known only then).
            AtomicReference<String> scepUri = new AtomicReference<>(scepUri(config, config.est().port(), config.publication().port()));
            Router estRouter = new EstApi(core, cpuWorkers, config.est().maxBodyBytes(), config.est().limits(), estMetrics, scepUri::get)
                    .router(vertx, scepOn(scep, scepConfig, ScepConfig.Listener.EST));
            // Bootstrap certificates chain to the makers' CAs; certificates being renewed (RFC 7030
            // 4.2.2) chain to one of this gateway's CA keys. The RA tells the two apart.
            List<X509Certificate> estClientAnchors = new java.util.ArrayList<>(bootstrapAnchors);
            cas.values().forEach(ca -> estClientAnchors.add(ca.caCertificate()));
            GatewayConfig.Limits limits = config.est().limits();
            TlsEngine estEngine = TlsEngine.forListener(policies.profiles().values());
            TlsEngine adminEngine = TlsEngine.forListener(List.of());
            for (var listener : List.of(java.util.Map.entry("est", estEngine), java.util.Map.entry("admin", adminEngine))) {
                LOG.info(listener.getValue().describe(listener.getKey()));
                Gauge.builder("mef.tls.engine.info", () -> 1)
                        .description("the TLS implementation of each TLS listener: openssl (BoringSSL) or jdk (JSSE)")
                        .tag("listener", listener.getKey())
                        .tag("engine", listener.getValue().name())
                        .register(meters);
            }
            HttpServer est = listen(vertx, "est", estRouter, tls(estEngine, serverKeys, estClientAnchors), config.est().host(),
                    config.est().port(), limits, meters);

            List<X509Certificate> operators = TlsMaterial.certificatesIn(data.operatorsDir());
            // Per CA key: its CRL, and its delegated OCSP responder (a key of its own, so that OCSP
            // answers cost the CA key nothing).
            List<CrlPublisher> crls = new java.util.ArrayList<>();
            for (CaKeyConfig key : config.caKeys()) {
                CaSigner caSigner = caKeys.signer(key.name()).orElseThrow();
                CrlPublisher crl = new CrlPublisher(caSigner, store, config.publication().crlValidity(), clock);
                crl.registerMeters(meters);
                crls.add(crl);
                responders.add(DelegatedResponder.open(caSigner, key, store, clock, meters));
            }
            OcspResponder ocsp = new OcspResponder(responders, store, clock, meters);
            // CRL and OCSP work waits on the HSM: its own pool, so it never starves enrolment's store workers.
            WorkerExecutor publicationWorkers = vertx.createSharedWorkerExecutor("mef-publication", 4);
            RevocationPublisher revocations = RevocationPublisher.start(vertx, publicationWorkers, crls, ocsp,
                    config.publication().crlRefresh());
            Router adminRouter = new AdminApi(store, caKeys, revocations, policies, core.approvals(), core.challenges(), storeWorkers, operators,
                    meters, clock, estEngine.name(), scepConfig.enabled() ? scepUri::get : () -> null)
                    .router(vertx);
            HttpServer admin = listen(vertx, "admin", adminRouter, tls(adminEngine, serverKeys, operators), config.admin().host(), config.admin().port(),
                    limits, meters);

            Router publicationRouter = new PublicationApi(store, ocsp, caKeys.names(), publicationWorkers)
                    .router(vertx, scepOn(scep, scepConfig, ScepConfig.Listener.PUBLICATION));
            // Plain HTTP and anonymous: the same connection cap and deadlines as EST (its own count).
            HttpServer publication = listen(vertx, "publication", publicationRouter, new HttpServerOptions(),
                    config.publication().host(), config.publication().port(), limits, meters);

            scepUri.set(scepUri(config, est.actualPort(), publication.actualPort()));
            Files.createDirectories(data.portsFile().getParent());
            Files.writeString(data.portsFile(), "est=" + est.actualPort() + "\nadmin=" + admin.actualPort()
                    + "\npublication=" + publication.actualPort() + "\n");
            // And after: the files the store and this start created (the H2 database, the ports file).
            data.restrictToOwner();
            LOG.info("MEF listening: EST https://{}:{}{}, admin https://{}:{}, SCEP {}, CRL {} and OCSP {} (CA key '{}' on token '{}', store {})",
                    config.est().host(), est.actualPort(), "/.well-known/est", config.admin().host(), admin.actualPort(),
                    scepConfig.enabled() ? scepUri.get() : "disabled",
                    config.publication().base(publication.actualPort()) + GatewayConfig.Publication.CRL_PATH,
                    config.publication().base(publication.actualPort()) + GatewayConfig.Publication.OCSP_PATH,
                    config.hsm().keyLabel(), config.hsm().tokenLabel(), storeConfig.jdbcUrl().isPresent() ? "PostgreSQL" : "H2 " + data.database());
            // Once listening, so that readiness does not wait for it and the start has the CPU to itself.
            caKeys.measureWorkersInBackground();
            LOG.info("started {} ms after the JVM started", ManagementFactory.getRuntimeMXBean().getUptime());
            return new Gateway(vertx, caKeys, store, est, admin, publication, meters, gcMetrics, responders, core.steps(), raKey);
        } catch (Exception | Error e) {
            if (vertx != null) {
                vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            responders.forEach(DelegatedResponder::close);
            if (store != null) {
                store.close();
            }
            if (caKeys != null) {
                caKeys.close();
            }
            if (raKey != null) {
                raKey.close();
            }
            gcMetrics.close();
            throw e;
        }
    }

    /**
     * The CA key SCEP requests are issued by: the one the profile of label {@code scep} names (or,
     * without that profile, the default profile), as ScepApi serves them. Chosen at start: its RA
     * key decrypts and its chain is GetCACert's, so a profile reload that names another CA key
     * takes effect for SCEP at the next start.
     */
    private static CaKeyConfig scepCaKey(GatewayConfig config, PolicyDirectory policies) {
        String name = policies.forLabel(ScepApi.LABEL).or(() -> policies.forLabel(""))
                .map(engine -> engine.profile().caKey()).orElse(CaKeyConfig.DEFAULT);
        return config.caKeys().stream().filter(key -> key.name().equals(name)).findFirst().orElseThrow();
    }

    /** The SCEP routes on {@code listener}'s router, when SCEP is enabled and served there. */
    private static java.util.function.BiConsumer<Router, Routes> scepOn(ScepApi scep, ScepConfig config, ScepConfig.Listener listener) {
        return (router, routes) -> {
            if (scep != null && config.listeners().contains(listener)) {
                scep.install(router, routes);
            }
        };
    }

    /**
     * Where devices reach SCEP: on the publication listener when it serves SCEP (plain HTTP, what
     * SCEP clients expect), else on the EST listener by the first of its TLS server names (what
     * the server certificate is checked against).
     */
    static String scepUri(GatewayConfig config, int estPort, int publicationPort) {
        if (config.scep().listeners().contains(ScepConfig.Listener.PUBLICATION)) {
            return config.publication().base(publicationPort) + config.scep().path();
        }
        return "https://" + config.est().serverNames().get(0) + ":" + estPort + config.scep().path();
    }

    /**
     * TLS 1.2 renegotiation started by the client costs the server a full handshake (about 9 ms
     * of CPU) that no connection or rate limit sees, and no EST client needs it (TLS 1.3 has none).
     * JSSE refuses it (handshake_failure alert, connection closed) when this system property is
     * true at the moment its server handshake class is initialised, which is the first server
     * handshake of the process: no listener has accepted one before this runs, in
     * {@code mefgate serve} as in the tests that start gateways in their own JVM.
     */
    private static void refuseClientInitiatedRenegotiation() {
        System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
    }

    /**
     * Vert.x with its own meters (HTTP server requests and connections, worker pools) in the
     * gateway's registry. Labels stay bounded: method, status code, the listener's address, pool
     * type and name; never the request path.
     */
    private static Vertx vertxWithMetrics(PrometheusMeterRegistry meters) {
        MicrometerMetricsOptions metrics = new MicrometerMetricsOptions()
                .setEnabled(true)
                .setLabels(EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.LOCAL, Label.POOL_TYPE, Label.POOL_NAME))
                .addDisabledMetricsCategory(MetricsDomain.EVENT_BUS);
        return Vertx.builder()
                .with(new VertxOptions().setMetricsOptions(metrics))
                .withMetrics(new MicrometerMetricsFactory(meters))
                .build();
    }

    /**
     * TLS for the EST and admin listeners. With trust anchors, clients may present a certificate
     * and it is validated against exactly those anchors during the handshake (REQUEST: /cacerts
     * stays anonymous); without any, no client certificate is asked for, rather than falling back
     * to the JDK's public CAs. The same protocols, suites, client trust and handshake deadline on
     * either {@link TlsEngine}.
     */
    private static HttpServerOptions tls(TlsEngine engine, KeyManagerFactory keys, List<X509Certificate> clientAnchors)
            throws Exception {
        HttpServerOptions options = new HttpServerOptions()
                .setSsl(true)
                .setSslEngineOptions(engine.options())
                .setKeyCertOptions(KeyCertOptions.wrap(keys))
                .setEnabledSecureTransportProtocols(TLS_PROTOCOLS)
                .setSslHandshakeTimeout(10)
                .setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
        CIPHER_SUITES.stream().filter(engine::offers).forEach(options::addEnabledCipherSuite);
        if (!clientAnchors.isEmpty()) {
            options.setClientAuth(ClientAuth.REQUEST).setTrustOptions(TrustOptions.wrap(TlsMaterial.clientCertificateTrust(clientAnchors, engine.name().equals(TlsEngine.OPENSSL))));
        }
        return options;
    }

    /**
     * A listener on {@code transport} (TLS, or plain HTTP for publication) with the limits of
     * README "Security and limits": header and line sizes, the idle timeout, and a
     * {@link ConnectionGuard} of its own (connection cap, header deadline, response counts), so a
     * flood on one listener leaves the others (health checks, CRL and OCSP) alone. HTTP/1.1 only:
     * Vert.x would otherwise speak HTTP/2 cleartext (h2c) on a plain listener, upgrade and prior
     * knowledge alike, and no guard of ours sees HTTP/2 streams.
     */
    private static HttpServer listen(Vertx vertx, String name, Router router, HttpServerOptions transport, String host, int port,
                                     GatewayConfig.Limits limits, PrometheusMeterRegistry meters) throws Exception {
        HttpServerOptions options = transport
                .setHttp2ClearTextEnabled(false)
                .setIdleTimeout((int) limits.idleTimeout().toSeconds())
                .setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setMaxHeaderSize(limits.maxHeaderBytes())
                .setMaxInitialLineLength(limits.maxInitialLineBytes());
        ConnectionGuard guard = new ConnectionGuard(vertx, name, limits.maxConnections(), limits.requestTimeout(), meters);
        Future<HttpServer> listening = guard.install(vertx.createHttpServer(options), router).listen(port, host);
        return listening.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    public int estPort() {
        return est.actualPort();
    }

    public int adminPort() {
        return admin.actualPort();
    }

    /** The plain-HTTP port serving the CRL and OCSP. */
    public int publicationPort() {
        return publication.actualPort();
    }

    public Store store() {
        return store;
    }

    /** The CA keys by name (the default key, and any named in hsm.keys), for per-label profiles. */
    public CaKeys caKeys() {
        return caKeys;
    }

    /** Every meter of this gateway; the admin listener serves them at /metrics. */
    public PrometheusMeterRegistry meters() {
        return meters;
    }

    /** Stops accepting, lets in-flight requests finish, then closes the signers (logging out of the tokens) and the store. */
    @Override
    public void close() {
        LOG.info("stopping: no new connections, finishing requests in flight");
        try {
            // Vert.x's shutdown ends as soon as every connection has finished its request; only a
            // request still in flight makes it wait the whole drain limit, then it closes that
            // connection. So the time it took says whether anything was cut off.
            long drainLimitSeconds = 10;
            long drainStart = System.nanoTime();
            est.shutdown(drainLimitSeconds, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
            long drainedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drainStart);
            LOG.info(drainedMillis >= TimeUnit.SECONDS.toMillis(drainLimitSeconds)
                    ? "EST listener drained in {} ms: the drain limit of {} s was reached, requests still in flight were cut off"
                    : "EST listener drained in {} ms, within the drain limit of {} s: no request was cut off", drainedMillis, drainLimitSeconds);
            admin.shutdown(1, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            publication.shutdown(1, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            vertx.close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("shutdown did not complete cleanly: {}", e.toString());
        } finally {
            responders.forEach(DelegatedResponder::close);
            caKeys.close();
            if (raKey != null) {
                raKey.close();
            }
            store.close();
            gcMetrics.close();
            meters.close();
            LOG.info("stopped");
        }
    }
}
