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
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.policy.Profile;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The gateway's one configuration file (ops/config/mefgate.yaml). Relative paths are resolved
 * against the directory the gateway is started in. Secrets are never in this file: only the
 * names of the environment variables or files that hold them.
 */
public record GatewayConfig(DataDir dataDir, Est est, Admin admin, HsmConfig hsm, List<CaKeyConfig> caKeys, Ca ca,
                            Profile profile) {

    /** The EST listener that Enrolees reach. */
    public record Est(String host, int port, List<String> serverNames, Path bootstrapTrustDir, int maxBodyBytes) {
    }

    /** The operator listener: admin API (client certificate of an operator) and health. */
    public record Admin(String host, int port) {
    }

    /** The root CA created on the token by {@code mefgate init}. */
    public record Ca(String subject, Duration validity) {
    }

    public static GatewayConfig load(Path file) throws ConfigException {
        Map<String, Object> root;
        try (Reader reader = Files.newBufferedReader(file)) {
            Object parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(reader);
            if (!(parsed instanceof Map)) {
                throw new ConfigException(file + ": expected a YAML mapping at the top level");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) parsed;
            root = map;
        } catch (IOException e) {
            throw new ConfigException("cannot read " + file + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new ConfigException(file + ": not valid YAML: " + e.getMessage());
        }
        return fromMap(new Section(file.toString(), "", root));
    }

    static GatewayConfig fromMap(Section root) throws ConfigException {
        DataDir dataDir = new DataDir(root.path("dataDir", "var"));

        Section est = root.section("est");
        List<String> names = est.strings("serverNames", List.of("localhost", "127.0.0.1"));
        Est estConfig = new Est(est.string("host", "127.0.0.1"), est.port("port", 8443), names,
                est.path("bootstrapTrustDir", dataDir.root().resolve("bootstrap-trust").toString()),
                est.integer("maxBodyBytes", 64 * 1024));

        Section admin = root.section("admin");
        Admin adminConfig = new Admin(admin.string("host", "127.0.0.1"), admin.port("port", 9443));

        Section hsm = root.section("hsm");
        List<CaKeyConfig> caKeys = caKeys(root, hsm);
        HsmConfig hsmConfig = caKeys.get(0).primary();

        Section ca = root.section("ca");
        Ca caConfig = new Ca(ca.string("subject", "CN=MEF Gateway Root CA,O=MEF Gateway"),
                Duration.ofDays(ca.integer("validityDays", 3650)));

        Section profile = root.section("profile");
        Profile defaults = Profile.oneM2MDefault("default");
        Profile profileConfig;
        try {
            profileConfig = new Profile(defaults.name(), defaults.signatureAlgorithmOids(),
                    Duration.ofDays(profile.integer("validityDays", (int) defaults.validity().toDays())),
                    defaults.backdate(), profile.suidEkus("suidEkus", defaults.suidEkus()),
                    Duration.ofSeconds(profile.integer("challengeLifetimeSeconds", (int) defaults.challengeLifetime().toSeconds())));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(root.file + ": profile: " + e.getMessage());
        }
        return new GatewayConfig(dataDir, estConfig, adminConfig, hsmConfig, caKeys, caConfig, profileConfig);
    }

    /**
     * The CA keys: the top-level hsm key is {@value CaKeyConfig#DEFAULT}, {@code hsm.keys} adds named
     * ones, and each key's {@code replicas} lists further tokens holding the same key. Every entry
     * inherits what it does not set (library, token, PIN source, pool size) from the level above.
     */
    private static List<CaKeyConfig> caKeys(Section root, Section hsm) throws ConfigException {
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
            throw new ConfigException(root.file + ": " + e.getMessage());
        }
        List<CaKeyConfig> keys = new ArrayList<>();
        keys.add(key(root, CaKeyConfig.DEFAULT, top, hsm));
        Section named = hsm.section("keys");
        for (String name : named.keys()) {
            if (name.equals(CaKeyConfig.DEFAULT)) {
                throw new ConfigException(root.file + ": hsm.keys: '" + CaKeyConfig.DEFAULT + "' is the top-level hsm key");
            }
            Section k = named.section(name);
            keys.add(key(root, name, inherit(root, top, k), k));
        }
        return List.copyOf(keys);
    }

    private static CaKeyConfig key(Section root, String name, HsmConfig primary, Section section) throws ConfigException {
        List<HsmConfig> tokens = new ArrayList<>();
        tokens.add(primary);
        for (Section replica : section.sections("replicas")) {
            tokens.add(inherit(root, primary, replica));
        }
        return new CaKeyConfig(name, tokens);
    }

    private static HsmConfig inherit(Section root, HsmConfig parent, Section s) throws ConfigException {
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
            throw new ConfigException(root.file + ": " + e.getMessage());
        }
    }

    /** A YAML mapping with typed getters whose errors name the file and the key. */
    static final class Section {
        final String file;
        private final String prefix;
        private final Map<String, Object> values;

        Section(String file, String prefix, Map<String, Object> values) {
            this.file = file;
            this.prefix = prefix;
            this.values = values;
        }

        Section section(String key) throws ConfigException {
            Object v = values.get(key);
            if (v == null) {
                return new Section(file, prefix + key + ".", Map.of());
            }
            if (!(v instanceof Map)) {
                throw error(key, "expected a mapping");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) v;
            return new Section(file, prefix + key + ".", map);
        }

        java.util.Set<String> keys() {
            return new java.util.TreeSet<>(values.keySet().stream().map(String::valueOf).toList());
        }

        /** A list of mappings, such as hsm.replicas. */
        List<Section> sections(String key) throws ConfigException {
            Object v = values.get(key);
            if (v == null) {
                return List.of();
            }
            if (!(v instanceof List<?> list)) {
                throw error(key, "expected a list");
            }
            List<Section> out = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof Map<?, ?> map)) {
                    throw error(key + "[" + i + "]", "expected a mapping");
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) map;
                out.add(new Section(file, prefix + key + "[" + i + "].", m));
            }
            return out;
        }

        /** A number of signing threads, or "auto" (0): measure the token. */
        int signerThreads(String key, int fallback) throws ConfigException {
            if ("auto".equals(values.get(key))) {
                return HsmConfig.AUTO_THREADS;
            }
            return integer(key, fallback);
        }

        String string(String key, String fallback) throws ConfigException {
            return optionalString(key).orElse(fallback);
        }

        Optional<String> optionalString(String key) throws ConfigException {
            Object v = values.get(key);
            if (v == null) {
                return Optional.empty();
            }
            if (v instanceof Map || v instanceof List) {
                throw error(key, "expected a single value");
            }
            return Optional.of(v.toString());
        }

        Path path(String key, String fallback) throws ConfigException {
            return Path.of(string(key, fallback));
        }

        int integer(String key, int fallback) throws ConfigException {
            Object v = values.get(key);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof Integer i)) {
                throw error(key, "expected a whole number, got '" + v + "'");
            }
            return i;
        }

        int port(String key, int fallback) throws ConfigException {
            int p = integer(key, fallback);
            if (p < 0 || p > 65535) {
                throw error(key, "expected a port number 0..65535 (0 picks a free port), got " + p);
            }
            return p;
        }

        /** A mapping of SUID numbers to EKU OIDs, such as {40: "1.3.6.1.4.1.99999.1.40"}. */
        Map<Integer, String> suidEkus(String key, Map<Integer, String> fallback) throws ConfigException {
            Object v = values.get(key);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof Map<?, ?> map)) {
                throw error(key, "expected a mapping of SUID numbers to EKU OIDs");
            }
            Map<Integer, String> out = new java.util.TreeMap<>();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!(e.getKey() instanceof Integer suid)) {
                    throw error(key, "keys must be SUID numbers (40..45), not '" + e.getKey() + "'");
                }
                out.put(suid, String.valueOf(e.getValue()));
            }
            return out;
        }

        List<String> strings(String key, List<String> fallback) throws ConfigException {
            Object v = values.get(key);
            if (v == null) {
                return fallback;
            }
            if (!(v instanceof List<?> list)) {
                throw error(key, "expected a list");
            }
            List<String> out = new ArrayList<>();
            for (Object o : list) {
                out.add(String.valueOf(o));
            }
            return List.copyOf(out);
        }

        private ConfigException error(String key, String what) {
            return new ConfigException(file + ": " + prefix + key + ": " + what);
        }
    }
}
