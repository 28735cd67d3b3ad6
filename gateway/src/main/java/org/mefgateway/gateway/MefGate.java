package org.mefgateway.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.token.TokenCommands;

/**
 * The gateway command line ({@code ops/mefgate}): {@code init}, {@code serve} and the operator's
 * {@code admin} commands. Secrets never come as arguments: they are read from the environment or
 * from owner-only files named in the configuration.
 */
public final class MefGate {
    private static final String USAGE = String.join("\n",
            "usage: mefgate [--config FILE] <command>",
            "  init                          create the CA key on the token, its certificate, TLS and operator credentials (idempotent)",
            "  serve                         run the gateway in the foreground",
            "  admin register-enrolee --id ID (--bootstrap-cert FILE.pem | --bootstrap-fingerprint SHA256)",
            "                        --type AE-ID|CSE-ID|Node-ID --subject-id ID [--suids 40,41,...] [--profiles P1,P2]",
            "                                the profiles (EST labels; default = no label) it may use, the first named by its",
            "                                CERT_PROV command (default: default)",
            "  admin list-enrolees",
            "  admin list-certs [--enrolee ID] [--status ISSUED|REVOKED] [--expires-before DATE|INSTANT]",
            "                   [--format json|pem|csv] [--out FILE]",
            "  admin revoke SERIAL [--reason R]   R: unspecified (default), keyCompromise, cACompromise, affiliationChanged,",
            "                                    superseded, cessationOfOperation, privilegeWithdrawn, aACompromise",
            "  admin instruct --id ID [--profiles P1,P2]   a new CERT_PROV command: the Enrolee may enrol once more with its",
            "                                bootstrap credential (and, with --profiles, under these profiles from now on)",
            "  admin remove-enrolee --id ID  delete the registration (issued certificates stay in the ledger)",
            "  admin list-requests [--status PENDING|APPROVED|REJECTED]   requests held for approval",
            "  admin approve --request ID    sign a held request; the client's next repeat gets the certificate",
            "  admin reject --request ID [--reason TEXT]",
            "  admin reload-policy           re-read the policy directory (all files valid, or nothing changes)",
            "  admin show-policy             the profiles the gateway serves",
            "  policy check --profile NAME CSR.pem [--enrolee ID | --type T --subject-id ID [--suids 40,41]]",
            "                                dry run of one CSR against one profile file: prints the decision and the",
            "                                certificate it would issue (exit 0 issue, 3 deny)",
            "  audit verify                  check the audit log's hash chain; exit 1 and name the first broken link",
            TokenCommands.USAGE,
            "The configuration is FILE, else $MEF_CONFIG, else ops/config/mefgate.yaml.",
            "Exit codes: 0 success, 1 failure, 2 usage error.");

    private MefGate() {
    }

    public static void main(String[] args) {
        try {
            System.exit(run(new ArrayList<>(List.of(args))));
        } catch (UsageException e) {
            System.err.println("mefgate: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        } catch (java.nio.file.NoSuchFileException e) {
            System.err.println("mefgate: no such file: " + e.getFile());
            System.exit(1);
        } catch (Exception e) {
            System.err.println("mefgate: " + e.getMessage());
            if ("1".equals(System.getenv("MEF_DEBUG"))) {
                e.printStackTrace();
            }
            System.exit(1);
        }
    }

    static int run(List<String> args) throws Exception {
        String configFile = System.getenv().getOrDefault("MEF_CONFIG", "ops/config/mefgate.yaml");
        if (args.size() >= 2 && args.get(0).equals("--config")) {
            configFile = args.get(1);
            args = args.subList(2, args.size());
        }
        if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("help")) {
            System.out.println(USAGE);
            return args.isEmpty() ? 2 : 0;
        }
        GatewayConfig config = GatewayConfig.load(userFile(configFile));
        String command = args.get(0);
        List<String> rest = args.subList(1, args.size());
        switch (command) {
            case "init" -> {
                new Initialiser(config, System.out::println).run();
                return 0;
            }
            case "serve" -> {
                serve(config);
                return 0;
            }
            case "admin" -> {
                return admin(config, rest);
            }
            case "policy" -> {
                return policy(config, rest);
            }
            case "audit" -> {
                return audit(config, rest);
            }
            case "token" -> {
                try {
                    return new TokenCommands(config, System.out).run(rest);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(e.getMessage());
                }
            }
            default -> throw new UsageException("unknown command '" + command + "'");
        }
    }

    private static void serve(GatewayConfig config) throws Exception {
        Gateway gateway = Gateway.start(config, Clock.systemUTC());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gateway.close();
            stopped.countDown();
        }, "mef-shutdown"));
        stopped.await();
    }

    private static int admin(GatewayConfig config, List<String> args) throws Exception {
        if (args.isEmpty()) {
            throw new UsageException("admin needs a command");
        }
        String command = args.get(0);
        if (command.equals("revoke")) {
            if (args.size() < 2 || args.get(1).startsWith("--")) {
                throw new UsageException("admin revoke needs the serial number (hex) of the certificate");
            }
            Map<String, String> options = options(args.subList(2, args.size()));
            JsonObject body = new JsonObject().put("reason", options.getOrDefault("reason", "unspecified"));
            return print(new AdminClient(config).postJson("/admin/certificates/" + encode(args.get(1)) + "/revoke", body.encode()),
                    Optional.empty());
        }
        Map<String, String> options = options(args.subList(1, args.size()));
        AdminClient client = new AdminClient(config);
        HttpResponse<String> response = switch (command) {
            case "register-enrolee" -> client.postJson("/admin/enrolees", registration(options).encode());
            case "list-enrolees" -> client.get("/admin/enrolees");
            case "list-certs" -> client.get("/admin/certificates" + certificateQuery(options));
            case "reload-policy" -> client.postJson("/admin/policy/reload", "{}");
            case "show-policy" -> client.get("/admin/policy");
            case "instruct" -> client.postJson("/admin/enrolees/" + pathSegment(require(options, "id")) + "/instruct",
                    (options.containsKey("profiles") ? new JsonObject().put("profiles", list(options.get("profiles")))
                            : new JsonObject()).encode());
            case "remove-enrolee" -> client.delete("/admin/enrolees/" + pathSegment(require(options, "id")));
            case "list-requests" -> client.get("/admin/requests"
                    + (options.containsKey("status") ? "?status=" + pathSegment(options.get("status")) : ""));
            case "approve" -> client.postJson("/admin/requests/" + pathSegment(require(options, "request")) + "/approve", "{}");
            case "reject" -> client.postJson("/admin/requests/" + pathSegment(require(options, "request")) + "/reject",
                    new JsonObject().put("reason", options.getOrDefault("reason", "rejected by the operator")).encode());
            default -> throw new UsageException("unknown admin command '" + command + "'");
        };
        return print(response, Optional.ofNullable(options.get("out")).map(MefGate::userFile));
    }

    /** list-certs options as the admin API's query parameters. */
    private static String certificateQuery(Map<String, String> o) {
        StringBuilder q = new StringBuilder();
        for (String[] p : new String[][] {{"enrolee", "enrolee"}, {"status", "status"}, {"expires-before", "expiresBefore"}, {"format", "format"}}) {
            if (o.containsKey(p[0])) {
                q.append(q.length() == 0 ? "?" : "&").append(p[1]).append('=').append(encode(o.get(p[0])));
            }
        }
        return q.toString();
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static int print(HttpResponse<String> response, Optional<Path> out) throws IOException {
        if (response.statusCode() / 100 != 2) {
            System.err.println("mefgate: the gateway refused (" + response.statusCode() + "): " + response.body().strip());
            return 1;
        }
        if (out.isPresent()) {
            // Owner-only whatever the umask: an export lists Enrolees' certificates and names.
            PrivateFiles.write(out.get(), response.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            System.out.println("wrote " + out.get());
        } else {
            System.out.println(response.body().strip());
        }
        return 0;
    }

    /** Ids are [A-Za-z0-9._:-]; anything else is refused here rather than sent as a different path. */
    private static String pathSegment(String value) throws UsageException {
        if (!value.matches("[A-Za-z0-9._:-]{1,128}")) {
            throw new UsageException("'" + value + "' is not an id (letters, digits, . _ : -)");
        }
        return value;
    }

    private static int policy(GatewayConfig config, List<String> args) throws Exception {
        if (args.isEmpty() || !args.get(0).equals("check")) {
            throw new UsageException("policy needs a command: check");
        }
        List<String> rest = new ArrayList<>(args.subList(1, args.size()));
        Path csr = null;
        for (int i = 0; i < rest.size(); i++) {
            if (!rest.get(i).startsWith("--")) {
                if (i > 0 && rest.get(i - 1).startsWith("--")) {
                    continue;
                }
                csr = userFile(rest.remove(i));
                break;
            }
        }
        if (csr == null) {
            throw new UsageException("policy check needs the CSR file");
        }
        Map<String, String> options = options(rest);
        return PolicyCheck.run(config, options.getOrDefault("profile", "default"), csr, options, System.out);
    }

    /** {@code audit verify}: exit 0 when the chain is intact, 1 with the first broken link otherwise. */
    private static int audit(GatewayConfig config, List<String> args) throws Exception {
        if (args.size() != 1 || !args.get(0).equals("verify")) {
            throw new UsageException("audit takes one command: verify");
        }
        HttpResponse<String> response = new AdminClient(config).get("/admin/audit/verify");
        if (response.statusCode() != 200) {
            System.err.println("mefgate: the gateway refused (" + response.statusCode() + "): " + response.body().strip());
            return 1;
        }
        JsonObject v = new JsonObject(response.body());
        if (v.getBoolean("intact")) {
            System.out.println("audit log intact: " + v.getLong("verifiedEvents") + " events, head " + v.getString("headHash"));
            return 0;
        }
        System.out.println("audit log BROKEN at event " + v.getLong("firstBrokenSeq") + ": " + v.getString("reason")
                + " (" + v.getLong("verifiedEvents") + " events before it verify)");
        return 1;
    }

    private static JsonObject registration(Map<String, String> o) throws IOException, UsageException {
        JsonObject json = new JsonObject().put("id", require(o, "id"))
                .put("certSubjectType", require(o, "type"))
                .put("certSubjectID", require(o, "subject-id"));
        if (o.containsKey("bootstrap-cert")) {
            json.put("bootstrapCertificate", Files.readString(userFile(o.get("bootstrap-cert"))));
        } else {
            json.put("bootstrapFingerprint", require(o, "bootstrap-fingerprint"));
        }
        JsonArray suids = new JsonArray();
        if (o.containsKey("suids") && !o.get("suids").isBlank()) {
            for (String s : o.get("suids").split(",")) {
                try {
                    suids.add(Integer.parseInt(s.strip()));
                } catch (NumberFormatException e) {
                    throw new UsageException("--suids takes numbers such as 40,41, not '" + s + "'");
                }
            }
        }
        if (o.containsKey("profiles")) {
            json.put("profiles", list(o.get("profiles")));
        }
        return json.put("suids", suids);
    }

    /** A comma-separated option value as a JSON list. */
    private static JsonArray list(String commaSeparated) {
        JsonArray out = new JsonArray();
        for (String item : commaSeparated.split(",")) {
            out.add(item.strip());
        }
        return out;
    }

    private static Map<String, String> options(List<String> args) throws UsageException {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            String key = args.get(i);
            if (!key.startsWith("--") || i + 1 >= args.size()) {
                throw new UsageException("expected --option value pairs, got '" + key + "'");
            }
            options.put(key.substring(2), args.get(i + 1));
        }
        return options;
    }

    private static String require(Map<String, String> options, String key) throws UsageException {
        String v = options.get(key);
        if (v == null || v.isBlank()) {
            throw new UsageException("--" + key + " is required");
        }
        return v;
    }

    /**
     * A file named on the command line. {@code ops/mefgate} runs from the repository root (the
     * configuration's relative paths are relative to it) and passes the directory it was called
     * from as MEF_CALLER_DIR, so that {@code --bootstrap-cert rel.pem} means the caller's file.
     */
    public static Path userFile(String name) {
        Path path = Path.of(name);
        String callerDir = System.getenv("MEF_CALLER_DIR");
        return path.isAbsolute() || callerDir == null || callerDir.isBlank() ? path : Path.of(callerDir).resolve(path);
    }

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
