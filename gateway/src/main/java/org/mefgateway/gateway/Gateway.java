package org.mefgateway.gateway;

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
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.ext.web.Router;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import org.mefgateway.gateway.admin.AdminApi;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.est.EstApi;
import org.mefgateway.gateway.mef.RegistrationAuthority;
import org.mefgateway.gateway.store.Store;
import org.mefgateway.hsm.CaKeys;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.policy.PolicyEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running MEF: the token, the store, and the EST and admin listeners wired together. */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
    /** TS-0003 10.2 and the brief: TLS 1.2 at least, 1.3 preferred. */
    static final Set<String> TLS_PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

    private final Vertx vertx;
    private final CaKeys caKeys;
    private final Store store;
    private final HttpServer est;
    private final HttpServer admin;
    private final PrometheusMeterRegistry meters;
    private final JvmGcMetrics gcMetrics;

    private Gateway(Vertx vertx, CaKeys caKeys, Store store, HttpServer est, HttpServer admin,
                    PrometheusMeterRegistry meters, JvmGcMetrics gcMetrics) {
        this.meters = meters;
        this.gcMetrics = gcMetrics;
        this.vertx = vertx;
        this.caKeys = caKeys;
        this.store = store;
        this.est = est;
        this.admin = admin;
    }

    /** Starts the gateway and returns once both listeners accept connections. */
    public static Gateway start(GatewayConfig config, Clock clock) throws Exception {
        DataDir data = config.dataDir();
        for (var required : List.of(data.tlsServerKeyStore(), data.tlsServerPassword())) {
            if (!Files.exists(required)) {
                throw new ConfigException(required + " is missing: run 'mefgate init' first");
            }
        }
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        JvmGcMetrics gcMetrics = new JvmGcMetrics();
        for (var binder : List.of(new JvmMemoryMetrics(), gcMetrics, new JvmThreadMetrics(), new ClassLoaderMetrics(),
                new ProcessorMetrics(), new UptimeMetrics())) {
            binder.bindTo(meters);
        }
        Vertx vertx = null;
        Store store = null;
        CaKeys caKeys = null;
        try {
            caKeys = CaKeys.open(config.caKeys(), meters);
            CaSigner signer = caKeys.defaultSigner();
            store = Store.openH2(data.database(), 8);
            vertx = Vertx.vertx();
            WorkerExecutor storeWorkers = vertx.createSharedWorkerExecutor("mef-store", 8);
            WorkerExecutor cpuWorkers = vertx.createSharedWorkerExecutor("mef-cpu", Runtime.getRuntime().availableProcessors());

            RegistrationAuthority ra = new RegistrationAuthority(store, new PolicyEngine(config.profile()),
                    new CertificateAuthority(signer), storeWorkers, cpuWorkers, clock);
            KeyManagerFactory serverKeys = TlsMaterial.keyManagers(data.tlsServerKeyStore(), data.tlsServerPassword());

            List<X509Certificate> bootstrapAnchors = TlsMaterial.certificatesIn(config.est().bootstrapTrustDir());
            if (bootstrapAnchors.isEmpty()) {
                LOG.warn("no bootstrap trust anchors in {}: no Enrolee can authenticate until the operator adds its maker's CA there",
                        config.est().bootstrapTrustDir());
            }
            Router estRouter = new EstApi(ra, signer.chain(), config.est().maxBodyBytes()).router(vertx);
            HttpServer est = listen(vertx, estRouter, serverKeys, bootstrapAnchors, config.est().host(), config.est().port());

            List<X509Certificate> operators = TlsMaterial.certificatesIn(data.operatorsDir());
            Router adminRouter = new AdminApi(store, caKeys, storeWorkers, operators, meters, clock).router(vertx);
            HttpServer admin = listen(vertx, adminRouter, serverKeys, operators, config.admin().host(), config.admin().port());

            Files.createDirectories(data.portsFile().getParent());
            Files.writeString(data.portsFile(), "est=" + est.actualPort() + "\nadmin=" + admin.actualPort() + "\n");
            LOG.info("MEF listening: EST https://{}:{}{}, admin https://{}:{} (CA key '{}' on token '{}')",
                    config.est().host(), est.actualPort(), "/.well-known/est", config.admin().host(), admin.actualPort(),
                    config.hsm().keyLabel(), config.hsm().tokenLabel());
            return new Gateway(vertx, caKeys, store, est, admin, meters, gcMetrics);
        } catch (Exception | Error e) {
            if (vertx != null) {
                vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
            if (store != null) {
                store.close();
            }
            if (caKeys != null) {
                caKeys.close();
            }
            gcMetrics.close();
            throw e;
        }
    }

    /**
     * A TLS listener. With trust anchors, clients may present a certificate and it is validated
     * against exactly those anchors during the handshake (REQUEST: /cacerts stays anonymous);
     * without any, no client certificate is asked for, rather than falling back to the JDK's
     * public CAs.
     */
    private static HttpServer listen(Vertx vertx, Router router, KeyManagerFactory keys, List<X509Certificate> clientAnchors,
                                     String host, int port) throws Exception {
        HttpServerOptions options = new HttpServerOptions()
                .setSsl(true)
                .setKeyCertOptions(KeyCertOptions.wrap(keys))
                .setEnabledSecureTransportProtocols(TLS_PROTOCOLS)
                .setIdleTimeout(60)
                .setSslHandshakeTimeout(10)
                .setSslHandshakeTimeoutUnit(TimeUnit.SECONDS);
        if (!clientAnchors.isEmpty()) {
            options.setClientAuth(ClientAuth.REQUEST).setTrustOptions(TrustOptions.wrap(TlsMaterial.trustManagers(clientAnchors)));
        }
        Future<HttpServer> listening = vertx.createHttpServer(options).requestHandler(router).listen(port, host);
        return listening.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    public int estPort() {
        return est.actualPort();
    }

    public int adminPort() {
        return admin.actualPort();
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
            est.shutdown(10, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
            admin.shutdown(1, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            vertx.close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("shutdown did not complete cleanly: {}", e.toString());
        } finally {
            caKeys.close();
            store.close();
            gcMetrics.close();
            meters.close();
            LOG.info("stopped");
        }
    }
}
