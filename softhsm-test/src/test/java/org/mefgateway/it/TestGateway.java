package org.mefgateway.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.net.Socket;
import java.security.Principal;
import java.security.KeyStore;
import java.security.PrivateKey;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.mefgateway.gateway.Gateway;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Initialiser;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.TlsMaterial;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;

/**
 * A real gateway for one test class: a fresh SoftHSM2 token, {@code mefgate init} into a temporary
 * data directory, and both TLS listeners on free ports. Its trust anchors for bootstrap
 * certificates are the test's device maker CAs.
 */
public final class TestGateway implements AutoCloseable {
    public final SoftHsm hsm;
    public final Path dataDir;
    public final Path configFile;
    public final GatewayConfig config;
    public final Gateway gateway;
    public final MutableClock clock;
    public final X509Certificate caCertificate;

    private TestGateway(SoftHsm hsm, Path dataDir, Path configFile, GatewayConfig config, Gateway gateway, MutableClock clock)
            throws Exception {
        this.hsm = hsm;
        this.dataDir = dataDir;
        this.configFile = configFile;
        this.config = config;
        this.gateway = gateway;
        this.clock = clock;
        this.caCertificate = Pem.read(config.dataDir().caCertificate()).get(0);
    }

    /** The default profile of the tests: the oneM2M default with short lifetimes. */
    public static final String DEFAULT_PROFILE = "validity: {days: 7}\nchallenge: {lifetimeSeconds: 300}\n";

    public static TestGateway start(DeviceMaker... trustedMakers) throws Exception {
        return start(Map.of("default.yaml", DEFAULT_PROFILE), trustedMakers);
    }

    /** A gateway whose policy directory holds exactly {@code profiles} (file name to YAML text). */
    public static TestGateway start(Map<String, String> profiles, DeviceMaker... trustedMakers) throws Exception {
        return start(TestDatabase.fromSystemProperty(), profiles, trustedMakers);
    }

    /** A gateway whose store is {@code database} (its YAML {@code store:} section; empty for embedded H2). */
    public static TestGateway start(TestDatabase database, DeviceMaker... trustedMakers) throws Exception {
        return start(database, Map.of("default.yaml", DEFAULT_PROFILE), trustedMakers);
    }

    public static TestGateway start(TestDatabase database, Map<String, String> profiles, DeviceMaker... trustedMakers)
            throws Exception {
        return start(database, "", "", profiles, List.of(), trustedMakers);
    }

    /**
     * A gateway with more EST settings (YAML flow-mapping entries such as
     * {@code "maxInFlight: 2, rateLimit: {perClientPerSecond: 0}"}), for the limits tests.
     */
    public static TestGateway startWithEst(String estSettings, Map<String, String> profiles, DeviceMaker... trustedMakers)
            throws Exception {
        return start(TestDatabase.fromSystemProperty(), estSettings, "", profiles, List.of(), trustedMakers);
    }

    /** A gateway with more publication settings (YAML flow-mapping entries such as {@code "crlRefreshMinutes: 7200"}). */
    public static TestGateway startWithPublication(String publicationSettings, DeviceMaker... trustedMakers) throws Exception {
        return start(TestDatabase.fromSystemProperty(), "", publicationSettings, Map.of("default.yaml", DEFAULT_PROFILE), List.of(),
                trustedMakers);
    }

    /**
     * A gateway with further CA keys besides the default one: each name in {@code extraKeys} is
     * configured under hsm.keys (key label ca-NAME on the same token) and generated on the token
     * with {@code mefgate token init-key --key NAME}, as an operator would.
     */
    public static TestGateway start(TestDatabase database, Map<String, String> profiles, List<String> extraKeys,
                                    DeviceMaker... trustedMakers) throws Exception {
        return start(database, "", "", profiles, extraKeys, trustedMakers);
    }

    /**
     * A gateway with a {@code scep:} block (YAML flow-mapping entries such as
     * {@code "path: /cgi-bin/pkiclient.exe, maxInFlight: 2"}) and further CA keys as
     * {@link #start(TestDatabase, Map, List, DeviceMaker...)} makes them.
     */
    public static TestGateway startWithScep(String scepSettings, Map<String, String> profiles, List<String> extraKeys,
                                            DeviceMaker... trustedMakers) throws Exception {
        return start(TestDatabase.fromSystemProperty(), "", "", scepSettings, profiles, extraKeys, trustedMakers);
    }

    private static TestGateway start(TestDatabase database, String estSettings, String publicationSettings, Map<String, String> profiles,
                                     List<String> extraKeys, DeviceMaker... trustedMakers) throws Exception {
        return start(database, estSettings, publicationSettings, "", profiles, extraKeys, trustedMakers);
    }

    private static TestGateway start(TestDatabase database, String estSettings, String publicationSettings, String scepSettings,
                                     Map<String, String> profiles, List<String> extraKeys, DeviceMaker... trustedMakers) throws Exception {
        SoftHsm hsm = SoftHsm.fresh("mef-test");
        Path dir = hsm.dir.resolve("var");
        Path trust = Files.createDirectories(dir.resolve("bootstrap-trust"));
        for (int i = 0; i < trustedMakers.length; i++) {
            Pem.write(trust.resolve("maker-" + i + ".pem"), trustedMakers[i].caCertificate);
        }
        Path policies = Files.createDirectories(dir.resolve("policies"));
        for (Map.Entry<String, String> profile : profiles.entrySet()) {
            Files.writeString(policies.resolve(profile.getKey()), profile.getValue());
        }
        Path configFile = hsm.dir.resolve("mefgate.yaml");
        Files.writeString(configFile, String.join("\n",
                "dataDir: " + dir,
                "est: {host: 127.0.0.1, port: 0, bootstrapTrustDir: " + trust + (estSettings.isEmpty() ? "" : ", " + estSettings) + "}",
                "admin: {host: 127.0.0.1, port: 0}",
                "hsm: {library: " + SoftHsm.LIBRARY + ", tokenLabel: mef-test, keyLabel: ca-p256, pinFile: " + hsm.pinFile
                        + ", keys: {" + String.join(", ", extraKeys.stream().map(k -> k + ": {keyLabel: ca-" + k + "}").toList())
                        + "}}",
                "ca: {subject: 'CN=Test MEF Root CA,O=MEF Gateway Tests', validityDays: 3650}",
                "policyDir: " + policies,
                "publication: {host: 127.0.0.1, port: 0" + (publicationSettings.isEmpty() ? "" : ", " + publicationSettings) + "}",
                "scep: {" + scepSettings + "}",
                database.storeYaml(hsm.dir),
                ""));
        GatewayConfig config = GatewayConfig.load(configFile);
        new Initialiser(config, line -> { }).run();
        for (String key : extraKeys) {
            new org.mefgateway.gateway.token.TokenCommands(() -> config, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))
                    .run(List.of("init-key", "--key", key, "--subject", "CN=Test MEF " + key + " CA,O=MEF Gateway Tests"));
        }
        MutableClock clock = new MutableClock();
        return new TestGateway(hsm, dir, configFile, config, Gateway.start(config, clock), clock);
    }

    public URI est(String path) {
        return URI.create("https://127.0.0.1:" + gateway.estPort() + "/.well-known/est" + path);
    }

    /** The plain-HTTP base of the CRL and the OCSP responder. */
    public URI publicationBase() {
        return URI.create("http://127.0.0.1:" + gateway.publicationPort());
    }

    public URI mefBase() {
        return URI.create("https://127.0.0.1:" + gateway.estPort());
    }

    /**
     * Registers a device as an Enrolee through the admin API, as an operator would, for every
     * profile of this gateway (default first): the tests of profile binding register with
     * {@link #register(DeviceMaker.Device, String, String, String, List, int...)}.
     */
    public void register(DeviceMaker.Device device, String id, String type, String subjectId, int... suids) throws Exception {
        register(device, id, type, subjectId, allProfiles(), suids);
    }

    /** Registers a device as an Enrolee that may use {@code profiles} (the first is the one its command names). */
    public void register(DeviceMaker.Device device, String id, String type, String subjectId, List<String> profiles, int... suids)
            throws Exception {
        StringBuilder s = new StringBuilder();
        for (int suid : suids) {
            s.append(s.length() == 0 ? "" : ",").append(suid);
        }
        String json = "{\"id\":\"" + id + "\",\"bootstrapCertificate\":" + io.vertx.core.json.Json.encode(Pem.encode(device.certificate()))
                + ",\"certSubjectType\":\"" + type + "\",\"certSubjectID\":\"" + subjectId + "\",\"suids\":[" + s + "]"
                + ",\"profiles\":" + io.vertx.core.json.Json.encode(profiles) + "}";
        HttpResponse<String> r = new AdminClient(config).postJson("/admin/enrolees", json);
        if (r.statusCode() != 201) {
            throw new IllegalStateException("registration refused: " + r.statusCode() + " " + r.body());
        }
    }

    /**
     * One first enrolment through our Enrolee of a new device of {@code maker}, registered as the
     * AE-ID {@code //m2m.example.com/CSE1/NAME} with SUID 40: a certificate the ledger knows.
     * The credentials are written to {@code dir}.
     */
    public java.security.cert.X509Certificate enrolNew(DeviceMaker maker, String name, java.nio.file.Path dir) throws Exception {
        DeviceMaker.Device device = maker.device(name);
        register(device, name, "AE-ID", "//m2m.example.com/CSE1/" + name, 40);
        org.mefgateway.enrolee.EnroleeOptions options = new org.mefgateway.enrolee.EnroleeOptions(mefBase(), null, device.keyStore(),
                DeviceMaker.Device.PASSWORD, List.of(caCertificate), dir.resolve(name + ".p12"), "out-password".toCharArray());
        return new org.mefgateway.enrolee.Enrolee(options).enrol((n, text) -> { }).orElseThrow().credentials().certificate();
    }

    /** The profiles this gateway serves right now (admin API), default first. */
    List<String> allProfiles() throws Exception {
        HttpResponse<String> r = new AdminClient(config).get("/admin/policy");
        List<String> names = new io.vertx.core.json.JsonObject(r.body()).getJsonArray("profiles").stream().map(String::valueOf).toList();
        return names.stream().sorted(java.util.Comparator.comparing((String n) -> !n.equals("default")).thenComparing(n -> n)).toList();
    }

    public List<IssuedCertificate> issued() {
        return gateway.store().certificates();
    }

    /** An HTTPS client that trusts the gateway's CA and presents the device's bootstrap certificate, if any. */
    public HttpClient client(DeviceMaker.Device device) throws Exception {
        return client(device, false);
    }

    /**
     * With {@code always}, the client presents its certificate even when its issuer is not among
     * the CAs the server asks for (the JDK's client would otherwise send none), as a hostile or
     * misconfigured client would.
     */
    HttpClient client(DeviceMaker.Device device, boolean always) throws Exception {
        TrustManagerFactory tmf = TlsMaterial.trustManagers(List.of(caCertificate));
        KeyManagerFactory kmf = null;
        if (device != null) {
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(device.keyStore(), DeviceMaker.Device.PASSWORD);
        }
        KeyManager[] keyManagers = kmf == null ? null : kmf.getKeyManagers();
        if (always && keyManagers != null) {
            X509KeyManager km = (X509KeyManager) keyManagers[0];
            keyManagers = new KeyManager[] {new X509ExtendedKeyManager() {
                @Override
                public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                    return "bootstrap";
                }

                @Override
                public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                    return "bootstrap";
                }

                @Override
                public String[] getClientAliases(String keyType, Principal[] issuers) {
                    return new String[] {"bootstrap"};
                }

                @Override
                public String[] getServerAliases(String keyType, Principal[] issuers) {
                    return null;
                }

                @Override
                public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                    return null;
                }

                @Override
                public X509Certificate[] getCertificateChain(String alias) {
                    return km.getCertificateChain(alias);
                }

                @Override
                public PrivateKey getPrivateKey(String alias) {
                    return km.getPrivateKey(alias);
                }
            }};
        }
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(keyManagers, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** An HTTPS client presenting {@code cert} (one this gateway issued) with its key: a renewing Enrolee. */
    public HttpClient client(java.security.KeyPair keys, X509Certificate cert) throws Exception {
        char[] password = "operational".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("current", keys.getPrivate(), password, new java.security.cert.Certificate[] {cert});
        return client(ks, password);
    }

    /** An HTTPS client that trusts the gateway's CA and presents the key entry of {@code credential}. */
    public HttpClient client(KeyStore credential, char[] password) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(credential, password);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), TlsMaterial.trustManagers(List.of(caCertificate)).getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A fresh challengePassword from csrattrs ({@code labelPath}: "" or "/<label>"), which must answer 200. */
    public String challenge(HttpClient client, String labelPath) throws Exception {
        HttpResponse<String> r = get(client, est(labelPath + "/csrattrs"));
        org.junit.jupiter.api.Assertions.assertEquals(200, r.statusCode(), r.body());
        return TestCsr.challengeFrom(r.body());
    }

    public static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    public static HttpResponse<String> post(HttpClient client, URI uri, String contentType, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        gateway.close();
    }
}
