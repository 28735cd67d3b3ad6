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
            "                        --type AE-ID|CSE-ID|Node-ID --subject-id ID [--suids 40,41,...]",
            "  admin list-enrolees",
            "  admin list-certs",
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
        GatewayConfig config = GatewayConfig.load(Path.of(configFile));
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
        AdminClient client = new AdminClient(config);
        Map<String, String> options = options(args.subList(1, args.size()));
        HttpResponse<String> response = switch (args.get(0)) {
            case "register-enrolee" -> client.postJson("/admin/enrolees", registration(options).encode());
            case "list-enrolees" -> client.get("/admin/enrolees");
            case "list-certs" -> client.get("/admin/certificates");
            default -> throw new UsageException("unknown admin command '" + args.get(0) + "'");
        };
        if (response.statusCode() / 100 != 2) {
            System.err.println("mefgate: the gateway refused (" + response.statusCode() + "): " + response.body().strip());
            return 1;
        }
        System.out.println(response.body().strip());
        return 0;
    }

    private static JsonObject registration(Map<String, String> o) throws IOException, UsageException {
        JsonObject json = new JsonObject().put("id", require(o, "id"))
                .put("certSubjectType", require(o, "type"))
                .put("certSubjectID", require(o, "subject-id"));
        if (o.containsKey("bootstrap-cert")) {
            json.put("bootstrapCertificate", Files.readString(Path.of(o.get("bootstrap-cert"))));
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
        return json.put("suids", suids);
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

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
