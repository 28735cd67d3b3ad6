package org.mefgateway.gateway;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.mefgateway.gateway.scep.ScepConfig;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmConfig;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * The gateway's one configuration file (ops/config/mefgate.yaml). Relative paths are resolved
 * against the directory the gateway is started in. Secrets are never in this file: only the
 * names of the environment variables or files that hold them.
 */
public record GatewayConfig(DataDir dataDir, Est est, Admin admin, HsmConfig hsm, List<CaKeyConfig> caKeys, Ca ca,
                            Path policyDir, StoreConfig store, Publication publication, ScepConfig scep) {

    /** The EST listener that Enrolees reach. */
    public record Est(String host, int port, List<String> serverNames, Path bootstrapTrustDir, int maxBodyBytes, Limits limits) {
    }

    /**
     * What one listener accepts before it refuses (README "Security and limits"). Header and line
     * limits and the idle timeout apply to the EST and admin listeners; the rest to EST only.
     *
     * @param maxHeaderBytes      all request headers together; beyond: 431 and the connection closed
     * @param maxInitialLineBytes the request line (method, path, version); beyond: 414
     * @param requestTimeout      from a connection's start (or its previous response) to the end of
     *                            the request headers, and from there to the response: 408 while the
     *                            body is being read, else 503 (the connection is closed)
     * @param idleTimeout         a connection without traffic for this long is closed
     * @param maxConnections      open EST connections; one more is closed at once
     * @param maxInFlight         enrolment steps being served at once: the POSTs (simpleenroll,
     *                            simplereenroll, serverkeygen) counted from the end of their body,
     *                            csrattrs from its head to its answer;
     *                            beyond, 503 + Retry-After at the request head (est.Admission)
     * @param perClientPerSecond  token-bucket refill per source IP address (0: no per-client limit)
     * @param perClientBurst      bucket size: requests a client may make at once
     * @param maxTrackedClients   buckets kept; idle ones are evicted first, and while all are busy a
     *                            new client is refused (429) rather than memory growing
     * @param bodyTimeout         from the start of an authenticated enrolment's body read to its end;
     *                            beyond: 408 and the connection closed
     * @param maxBodyReadsPerClient enrolment bodies still arriving at once from one source address
     *                            (a body sent with its headers never counts); one more gets 429 +
     *                            Retry-After and the connection closed
     */
    public record Limits(int maxHeaderBytes, int maxInitialLineBytes, Duration requestTimeout, Duration idleTimeout,
                         int maxConnections, int maxInFlight, int perClientPerSecond, int perClientBurst, int maxTrackedClients,
                         Duration bodyTimeout, int maxBodyReadsPerClient) {
    }

    /** The operator listener: admin API (client certificate of an operator) and health. */
    public record Admin(String host, int port) {
    }

    /**
     * The database. Without a JDBC URL: the embedded H2 file database under the data directory
     * (one process). With one (jdbc:postgresql://...): a PostgreSQL shared by several nodes; the
     * password comes from the environment variable {@code passwordEnv} or the owner-only file
     * {@code passwordFile}, never from this file.
     */
    public record StoreConfig(Optional<String> jdbcUrl, String user, Optional<String> passwordEnv, Optional<Path> passwordFile,
                              int poolSize) {
        /** The URL to connect to: the configured one, or the embedded H2 database under the data directory. */
        public String url(DataDir dataDir) {
            return jdbcUrl.orElseGet(() -> org.mefgateway.gateway.store.Store.h2Url(dataDir.database()));
        }

        /** The database password; empty for the embedded database. Never logged. */
        public String password() throws ConfigException {
            if (passwordFile.isPresent()) {
                try {
                    return new String(PrivateFiles.readPassword(passwordFile.get()));
                } catch (IOException e) {
                    throw new ConfigException("store.passwordFile: " + e.getMessage());
                }
            }
            if (passwordEnv.isPresent()) {
                String v = System.getenv(passwordEnv.get());
                if (v == null && jdbcUrl.isPresent()) {
                    throw new ConfigException("store: the environment variable " + passwordEnv.get() + " (the database password) is not set");
                }
                return v == null ? "" : v;
            }
            return "";
        }
    }

    /**
     * The plain-HTTP listener relying parties fetch revocation information from, unauthenticated
     * (RFC 5280 CRL distribution point, RFC 6960 OCSP over HTTP): the CRL at {@link #crlUrl},
     * the OCSP responder at {@link #ocspUrl}. {@code baseUrl} is how clients reach it (through a
     * load balancer, it is the balancer's address); profiles put these URLs into the CRL
     * distribution point and authority information access extensions.
     */
    public record Publication(String host, int port, Optional<String> baseUrl, Duration crlValidity, Duration crlRefresh) {
        public static final String CRL_PATH = "/crl/ca.crl";
        public static final String OCSP_PATH = "/ocsp";

        /** The public base URL: as configured, else http://host:port (the bound port when configured as 0). */
        public String base(int boundPort) {
            return baseUrl.map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u)
                    .orElse("http://" + host + ":" + boundPort);
        }

        /** The CRL distribution point URL (needs baseUrl, or a fixed port). */
        public String crlUrl() {
            return base(port) + CRL_PATH;
        }

        /** The OCSP responder URL for the authority information access extension. */
        public String ocspUrl() {
            return base(port) + OCSP_PATH;
        }
    }

    /** The root CA created on the token by {@code mefgate init}. */
    public record Ca(String subject, Duration validity) {
    }

    /**
     * Reads the file as strictly as a policy profile: a key given twice, or a key no accessor reads
     * (a typo such as {@code est.maxInflight}), is refused with file:line and the valid keys there,
     * instead of silently falling back to a default.
     */
    public static GatewayConfig load(Path file) throws ConfigException {
        Node root;
        try (Reader reader = Files.newBufferedReader(file)) {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).compose(reader);
        } catch (IOException e) {
            throw new ConfigException("cannot read " + file + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getMessage());
        }
        if (!(root instanceof MappingNode)) {
            throw new ConfigException(file + ": expected a YAML mapping at the top level");
        }
        Section top = new Section(file.toString(), "", root);
        GatewayConfig config = from(top);
        top.refuseUnreadKeys();
        config.checkAcrossSections(top);
        return config;
    }

    static GatewayConfig from(Section root) throws ConfigException {
        DataDir dataDir = new DataDir(root.path("dataDir", "var"));

        Section est = root.section("est");
        List<String> names = est.strings("serverNames", List.of("localhost", "127.0.0.1"));
        if (names.isEmpty()) {
            throw est.error("serverNames", "expected at least one name (the SANs of the TLS server certificate Enrolees check)");
        }
        Est estConfig = new Est(est.string("host", "127.0.0.1"), est.port("port", 8443), names,
                est.path("bootstrapTrustDir", dataDir.root().resolve("bootstrap-trust").toString()),
                est.positive("maxBodyBytes", 64 * 1024), limits(est));

        Section admin = root.section("admin");
        Admin adminConfig = new Admin(admin.string("host", "127.0.0.1"), admin.port("port", 9443));

        Section hsm = root.section("hsm");
        List<CaKeyConfig> caKeys = caKeys(hsm);
        HsmConfig hsmConfig = caKeys.get(0).primary();

        Section ca = root.section("ca");
        Ca caConfig = new Ca(ca.string("subject", "CN=MEF Gateway Root CA,O=MEF Gateway"),
                Duration.ofDays(ca.positive("validityDays", 3650)));

        if (root.has("profile")) {
            throw root.error("profile", "profiles are files in the policy directory now "
                    + "(policyDir, one <label>.yaml each, default.yaml without a label); see policy-engine/README.md");
        }
        // The profiles themselves are read (and validated) by the gateway at start and on reload.
        Path policyDir = root.path("policyDir", "policies");

        Section store = root.section("store");
        Optional<String> jdbcUrl = store.optionalString("jdbcUrl").filter(u -> !u.isBlank());
        if (jdbcUrl.isPresent() && !jdbcUrl.get().startsWith("jdbc:postgresql:") && !jdbcUrl.get().startsWith("jdbc:h2:")) {
            throw store.error("jdbcUrl", "expected jdbc:postgresql://HOST:PORT/DB (or jdbc:h2:...), got '"
                    + jdbcUrl.get().replaceAll("\\?.*", "?...") + "'");
        }
        Optional<String> passwordEnv = store.optionalString("passwordEnv");
        Optional<Path> passwordFile = store.optionalString("passwordFile").map(Path::of);
        if (jdbcUrl.isPresent() && passwordEnv.isEmpty() && passwordFile.isEmpty()) {
            passwordEnv = Optional.of("MEF_DB_PASSWORD");
        }
        int poolSize = store.positive("poolSize", 8);
        StoreConfig storeConfig = new StoreConfig(jdbcUrl, store.string("user", jdbcUrl.isPresent() ? "mef" : "sa"),
                passwordEnv, passwordFile, poolSize);

        Section publication = root.section("publication");
        int crlValidityHours = publication.positive("crlValidityHours", 24);
        int crlRefreshMinutes = publication.positive("crlRefreshMinutes", 60);
        if (crlRefreshMinutes >= crlValidityHours * 60) {
            throw publication.error("crlRefreshMinutes", "must be shorter than crlValidityHours (" + crlValidityHours
                    + " h), or relying parties hold an expired CRL before the next one");
        }
        Publication publicationConfig = new Publication(publication.string("host", "127.0.0.1"), publication.port("port", 8080),
                publication.optionalString("baseUrl").filter(u -> !u.isBlank()), Duration.ofHours(crlValidityHours),
                Duration.ofMinutes(crlRefreshMinutes));
        return new GatewayConfig(dataDir, estConfig, adminConfig, hsmConfig, caKeys, caConfig, policyDir, storeConfig,
                publicationConfig, scep(root.section("scep")));
    }

    /**
     * The SCEP edge (RFC 8894): served on the publication listener at /scep unless configured
     * otherwise. Its own admission bounds, because anyone can sign a pkiMessage with a self-signed
     * certificate and so make the RA key decrypt (README "SCEP", "Configuration and limits").
     */
    private static ScepConfig scep(Section scep) throws ConfigException {
        boolean enabled = scep.bool("enabled", true);
        String path = scep.string("path", ScepConfig.DEFAULT_PATH);
        if (!path.matches("(/[A-Za-z0-9._~-]+)+")) {
            throw scep.error("path", "expected an absolute path of plain segments such as /scep or /cgi-bin/pkiclient.exe, got '" + path + "'");
        }
        java.util.Set<ScepConfig.Listener> listeners = java.util.EnumSet.noneOf(ScepConfig.Listener.class);
        for (String name : scep.strings("listeners", List.of(ScepConfig.Listener.PUBLICATION.configName()))) {
            ScepConfig.Listener listener = java.util.Arrays.stream(ScepConfig.Listener.values())
                    .filter(l -> l.configName().equals(name)).findFirst()
                    .orElseThrow(() -> scep.error("listeners", "expected publication (plain HTTP) and/or est (HTTPS), got '" + name + "'"));
            if (!listeners.add(listener)) {
                throw scep.error("listeners", "'" + name + "' is given twice");
            }
        }
        if (listeners.isEmpty()) {
            throw scep.error("listeners", "expected publication and/or est; to serve no SCEP, set enabled: false");
        }
        Section rate = scep.section("rateLimit");
        int perSecond = rate.integer("perClientPerSecond", 10);
        if (perSecond < 0) {
            throw rate.error("perClientPerSecond", "expected 0 (off) or more, got " + perSecond);
        }
        return new ScepConfig(enabled, path, java.util.Collections.unmodifiableSet(listeners), scep.positive("maxInFlight", 16),
                perSecond, rate.positive("perClientBurst", 20), rate.positive("maxTrackedClients", 100_000),
                scep.bool("legacyAlgorithms", false), Duration.ofSeconds(scep.positive("maxClockSkewSeconds", 600)));
    }

    /**
     * The CA keys: the top-level hsm key is {@value CaKeyConfig#DEFAULT}, {@code hsm.keys} adds named
     * ones, and each key's {@code replicas} lists further tokens holding the same key. Every entry
     * inherits what it does not set (library, token, PIN source, pool size) from the level above.
     */
    private static List<CaKeyConfig> caKeys(Section hsm) throws ConfigException {
        Optional<String> pinEnv = hsm.optionalString("pinEnv");
        Optional<Path> pinFile = hsm.optionalString("pinFile").map(Path::of);
        if (pinEnv.isEmpty() && pinFile.isEmpty()) {
            pinEnv = Optional.of("MEF_HSM_PIN");
        }
        HsmConfig top;
        try {
            top = new HsmConfig(hsm.path("library", "/usr/lib/softhsm/libsofthsm2.so"),
                    hsm.string("tokenLabel", "mef-ca"), hsm.string("keyLabel", "mef-ca-p256"),
                    pinEnv, pinFile, hsm.signerThreads("signerThreads", HsmConfig.AUTO_THREADS), hsm.integer("queueCapacity", 1024));
        } catch (IllegalArgumentException e) {
            throw hsm.error(e.getMessage());
        }
        List<CaKeyConfig> keys = new ArrayList<>();
        keys.add(key(CaKeyConfig.DEFAULT, top, hsm));
        Section named = hsm.section("keys");
        for (String name : named.keys()) {
            if (name.equals(CaKeyConfig.DEFAULT)) {
                throw named.error(name, "'" + CaKeyConfig.DEFAULT + "' is the top-level hsm key");
            }
            if (name.equals("ca")) {
                throw named.error(name, "'ca' is reserved: /crl/ca.crl is the top-level key's CRL");
            }
            Section k = named.section(name);
            keys.add(key(name, inherit(top, k), k));
        }
        return List.copyOf(keys);
    }

    private static CaKeyConfig key(String name, HsmConfig primary, Section section) throws ConfigException {
        List<HsmConfig> tokens = new ArrayList<>();
        tokens.add(primary);
        for (Section replica : section.sections("replicas")) {
            tokens.add(inherit(primary, replica));
        }
        return new CaKeyConfig(name, tokens);
    }

    private static HsmConfig inherit(HsmConfig parent, Section s) throws ConfigException {
        Optional<String> pinEnv = s.optionalString("pinEnv");
        Optional<Path> pinFile = s.optionalString("pinFile").map(Path::of);
        if (pinEnv.isEmpty() && pinFile.isEmpty()) {
            pinEnv = parent.pinEnv();
            pinFile = parent.pinFile();
        }
        try {
            return new HsmConfig(s.path("library", parent.library().toString()), s.string("tokenLabel", parent.tokenLabel()),
                    s.string("keyLabel", parent.keyLabel()), pinEnv, pinFile,
                    s.signerThreads("signerThreads", parent.signerThreads()), s.integer("queueCapacity", parent.queueCapacity()));
        } catch (IllegalArgumentException e) {
            throw s.error(e.getMessage());
        }
    }

    /**
     * The listener limits under {@code est:}. The default in-flight bound (64) is 16 enrolments
     * per signer thread of a 4-thread signer waiting for the HSM, far below the signer's queue
     * (1024), so the queue never fills; it is fixed rather than derived because signerThreads may
     * be "auto" (measured at start).
     */
    private static Limits limits(Section est) throws ConfigException {
        Section rate = est.section("rateLimit");
        int perSecond = rate.integer("perClientPerSecond", 20);
        if (perSecond < 0) {
            throw rate.error("perClientPerSecond", "expected 0 (off) or more, got " + perSecond);
        }
        return new Limits(est.positive("maxHeaderBytes", 8 * 1024), est.positive("maxInitialLineBytes", 4 * 1024),
                Duration.ofSeconds(est.positive("requestTimeoutSeconds", 30)), Duration.ofSeconds(est.positive("idleTimeoutSeconds", 60)),
                est.positive("maxConnections", 1024), est.positive("maxInFlight", 64),
                perSecond, rate.positive("perClientBurst", 200), rate.positive("maxTrackedClients", 100_000),
                Duration.ofSeconds(est.positive("bodyTimeoutSeconds", 5)), est.positive("maxBodyReadsPerClient", 4));
    }

    /**
     * Listeners with a fixed port (0 picks a free one) each need their own; the same port twice
     * would fail only at bind time, after the token was opened.
     */
    private void checkAcrossSections(Section root) throws ConfigException {
        Map<Integer, String> taken = new java.util.HashMap<>();
        for (var listener : List.of(Map.entry("est", est.port()), Map.entry("admin", admin.port()),
                Map.entry("publication", publication.port()))) {
            int port = listener.getValue();
            String other = port == 0 ? null : taken.putIfAbsent(port, listener.getKey());
            if (other != null) {
                throw root.section(listener.getKey()).error("port", port + " is also " + other
                        + ".port; each listener needs its own port (or 0 for a free one)");
            }
        }
    }

    /**
     * A YAML mapping read key by key, as policy profiles are (policy-engine YamlFields): errors
     * name the file, the line and the dotted key. Every accessor marks its key as read, so the
     * valid keys are exactly those the configuration reads: adding a key is reading it here,
     * nothing else; a key nothing reads is refused by {@link #refuseUnreadKeys}. So read every
     * key of a section unconditionally (then decide what it means), or it is refused whenever the
     * condition is false.
     */
    static final class Section {
        /** Turns a YAML node into the value load() would give (Integer, String, ...). */
        private static final class Values extends SafeConstructor {
            Values() {
                super(new LoaderOptions());
            }

            Object of(Node node) {
                return constructObject(node);
            }
        }

        private static final Values VALUES = new Values();

        final String file;
        private final String prefix;
        /** Where errors about this mapping point: the mapping itself, or where it would be when absent. */
        private final Node node;
        private final Map<String, NodeTuple> entries = new java.util.LinkedHashMap<>();
        private final java.util.Set<String> read = new java.util.TreeSet<>();
        private final Map<String, Section> children = new java.util.LinkedHashMap<>();
        private final List<Section> listed = new ArrayList<>();

        /** A mapping as given in the file. */
        Section(String file, String prefix, Node node) throws ConfigException {
            this(file, prefix, node, node);
        }

        /** {@code mapping} null: the section is not in the file, and errors point at {@code where}. */
        private Section(String file, String prefix, Node mapping, Node where) throws ConfigException {
            this.file = file;
            this.prefix = prefix;
            this.node = where;
            if (!(mapping instanceof MappingNode m)) {
                return;
            }
            for (NodeTuple tuple : m.getValue()) {
                if (!(tuple.getKeyNode() instanceof ScalarNode key)) {
                    throw at(tuple.getKeyNode(), prefix.isEmpty() ? "(top level)" : prefix.substring(0, prefix.length() - 1),
                            "keys must be plain words");
                }
                NodeTuple first = entries.putIfAbsent(key.getValue(), tuple);
                if (first != null) {
                    throw at(key, prefix + key.getValue(), "given twice (first at line " + line(first.getKeyNode())
                            + "); the second would silently replace the first");
                }
            }
        }

        /**
         * Refuses a key no accessor read, in this mapping and the ones below it: a typo must not
         * silently fall back to a default.
         */
        void refuseUnreadKeys() throws ConfigException {
            for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
                if (!read.contains(e.getKey())) {
                    throw at(e.getValue().getKeyNode(), prefix + e.getKey(), "unknown key; valid keys here: " + read);
                }
            }
            for (Section child : children.values()) {
                child.refuseUnreadKeys();
            }
            for (Section child : listed) {
                child.refuseUnreadKeys();
            }
        }

        Section section(String key) throws ConfigException {
            Section known = children.get(key);
            if (known != null) {
                return known;
            }
            Node v = value(key);
            if (v != null && !(v instanceof MappingNode)) {
                throw error(key, "expected a mapping");
            }
            Section child = new Section(file, prefix + key + ".", v, v == null ? node : v);
            children.put(key, child);
            return child;
        }

        boolean has(String key) {
            return entries.containsKey(key);
        }

        /** The keys of a mapping whose keys are names chosen by the operator (hsm.keys): all valid. */
        java.util.Set<String> keys() {
            read.addAll(entries.keySet());
            return new java.util.TreeSet<>(entries.keySet());
        }

        /** A list of mappings, such as hsm.replicas. */
        List<Section> sections(String key) throws ConfigException {
            Node v = value(key);
            if (v == null) {
                return List.of();
            }
            if (!(v instanceof SequenceNode list)) {
                throw error(key, "expected a list");
            }
            List<Section> out = new ArrayList<>();
            for (int i = 0; i < list.getValue().size(); i++) {
                Node item = list.getValue().get(i);
                if (!(item instanceof MappingNode)) {
                    throw at(item, prefix + key + "[" + i + "]", "expected a mapping");
                }
                out.add(new Section(file, prefix + key + "[" + i + "].", item));
            }
            listed.addAll(out);
            return out;
        }

        /** A number of signing threads, or "auto" (0): measure the token. */
        int signerThreads(String key, int fallback) throws ConfigException {
            if ("auto".equals(scalar(key))) {
                return HsmConfig.AUTO_THREADS;
            }
            return integer(key, fallback);
        }

        boolean bool(String key, boolean fallback) throws ConfigException {
            Object v = scalar(key);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof Boolean b)) {
                throw error(key, "expected true or false, got '" + v + "'");
            }
            return b;
        }

        String string(String key, String fallback) throws ConfigException {
            return optionalString(key).orElse(fallback);
        }

        Optional<String> optionalString(String key) throws ConfigException {
            return Optional.ofNullable(scalar(key)).map(Object::toString);
        }

        Path path(String key, String fallback) throws ConfigException {
            return Path.of(string(key, fallback));
        }

        int integer(String key, int fallback) throws ConfigException {
            Object v = scalar(key);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof Integer i)) {
                throw error(key, "expected a whole number, got '" + v + "'");
            }
            return i;
        }

        int positive(String key, int fallback) throws ConfigException {
            int v = integer(key, fallback);
            if (v < 1) {
                throw error(key, "expected a whole number of at least 1, got " + v);
            }
            return v;
        }

        int port(String key, int fallback) throws ConfigException {
            int p = integer(key, fallback);
            if (p < 0 || p > 65535) {
                throw error(key, "expected a port number 0..65535 (0 picks a free port), got " + p);
            }
            return p;
        }

        List<String> strings(String key, List<String> fallback) throws ConfigException {
            Node v = value(key);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof SequenceNode list)) {
                throw error(key, "expected a list");
            }
            List<String> out = new ArrayList<>();
            for (Node item : list.getValue()) {
                if (!(item instanceof ScalarNode)) {
                    throw at(item, prefix + key, "expected a list of single values");
                }
                out.add(String.valueOf(VALUES.of(item)));
            }
            return List.copyOf(out);
        }

        /** An error at the value of {@code key}, or at this mapping when the key is not given. */
        ConfigException error(String key, String what) {
            NodeTuple t = entries.get(key);
            return at(t == null ? node : t.getValueNode(), prefix + key, what);
        }

        /** An error about this mapping as a whole; {@code what} names the keys. */
        ConfigException error(String what) {
            return new ConfigException(file + ":" + line(node) + ": " + what);
        }

        /** The value node of {@code key}, marking the key as valid here; null when absent or empty ({@code key:}). */
        private Node value(String key) {
            read.add(key);
            NodeTuple t = entries.get(key);
            if (t == null || t.getValueNode() instanceof ScalarNode s && s.getTag().equals(Tag.NULL)) {
                return null;
            }
            return t.getValueNode();
        }

        private Object scalar(String key) throws ConfigException {
            Node v = value(key);
            if (v == null) {
                return null;
            }
            if (!(v instanceof ScalarNode)) {
                throw error(key, "expected a single value");
            }
            return VALUES.of(v);
        }

        private ConfigException at(Node where, String key, String what) {
            return new ConfigException(file + ":" + line(where) + ": " + key + ": " + what);
        }

        private static int line(Node node) {
            return node.getStartMark().getLine() + 1;
        }
    }
}
