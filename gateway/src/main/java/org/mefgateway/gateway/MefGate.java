package org.mefgateway.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.gateway.token.TokenCommands;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The gateway command line ({@code ops/mefgate}): {@code init}, {@code serve} and the operator's
 * {@code admin}, {@code policy}, {@code audit} and {@code token} commands. Secrets never come as
 * arguments: they are read from the environment or from owner-only files named in the configuration.
 * --config is an inherited option: it may also follow any subcommand. Every command takes -h/--help
 * and answers a command line it cannot parse as {@link CliUsage} says.
 */
@Command(name = "mefgate",
        description = "The MEF Gateway: an oneM2M Enrolment Function (EST CA gateway) with its CA key in a PKCS#11 token.",
        footer = {"", "The configuration is FILE, else $MEF_CONFIG, else ops/config/mefgate.yaml.",
                "Exit codes: 0 success, 1 failure, 2 usage error; policy check: 3 deny."})
public final class MefGate implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "the configuration (default: $MEF_CONFIG, else ops/config/mefgate.yaml)")
    private String configFile;

    @Spec
    private CommandSpec spec;

    private final PrintStream out;
    private final PrintStream err;
    private GatewayConfig config;

    MefGate(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new MefGate(System.out, System.err).run(args));
    }

    /** Runs one command line and returns its exit code. */
    int run(String... args) {
        CommandLine commandLine = commandLine();
        try {
            return commandLine.execute(args);
        } finally {
            commandLine.getOut().flush();
            commandLine.getErr().flush();
        }
    }

    /** The whole command tree, writing to this instance's streams (also what docs/cli.md and the completion script show). */
    CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(this)
                .addSubcommand(new Admin())
                .addSubcommand(new Policy())
                .addSubcommand(new Audit())
                .addSubcommand(new TokenCommands(this::config, out))
                .addSubcommand(new CommandLine.HelpCommand())
                .addSubcommand(new AutoComplete.GenerateCompletion());
        // 'mefgate generate-completion' prints the bash completion script; the build writes it to
        // gateway/target/mefgate_completion. Not an operator's command, so not in the help.
        commandLine.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(true);
        return CliUsage.configure(commandLine, out, err, this::failed);
    }

    /** {@code mefgate} alone: the usage, as a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(out);
        return CliUsage.EXIT_USAGE;
    }

    @Command(name = "init", description = "create the CA key on the token, its certificate, TLS and operator credentials "
            + "(idempotent)")
    int init() throws Exception {
        new Initialiser(config(), out::println).run();
        return 0;
    }

    @Command(name = "serve", description = "run the gateway in the foreground (until SIGTERM or SIGINT)")
    int serve() throws Exception {
        Gateway gateway = Gateway.start(config(), Clock.systemUTC());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gateway.close();
            stopped.countDown();
        }, "mef-shutdown"));
        stopped.await();
        return 0;
    }

    /** The configuration named by --config (wherever it was given), read once, when a command needs it. */
    private GatewayConfig config() throws IOException, ConfigException {
        if (config == null) {
            String file = configFile != null ? configFile : System.getenv().getOrDefault("MEF_CONFIG", "ops/config/mefgate.yaml");
            config = GatewayConfig.load(userFile(file));
        }
        return config;
    }

    /** How an exception out of a command ends the run: the exit code. */
    private int failed(Exception e, CommandLine failed) {
        if (e instanceof UsageException) {
            err.println("mefgate: " + e.getMessage());
            failed.usage(err);
            return CliUsage.EXIT_USAGE;
        }
        if (e instanceof NoSuchFileException missing) {
            err.println("mefgate: no such file: " + missing.getFile());
            return 1;
        }
        err.println("mefgate: " + e.getMessage());
        if ("1".equals(System.getenv("MEF_DEBUG"))) {
            e.printStackTrace(err);
        }
        return 1;
    }

    @Command(name = "admin", description = "the operator's commands, sent to the running gateway's admin listener")
    static final class Admin {
        @ParentCommand
        private MefGate mefgate;

        @Command(name = "register-enrolee", description = "register an Enrolee by its bootstrap certificate (or its SHA-256 fingerprint) "
                + "and the profiles (EST labels; default = no label) it may use, the first named by "
                + "its CERT_PROV command")
        int registerEnrolee(
                @Option(names = "--id", required = true, paramLabel = "ID", description = "the registration's id") String id,
                @Option(names = "--bootstrap-cert", paramLabel = "FILE.pem", description = "the bootstrap certificate, or")
                String bootstrapCert,
                @Option(names = "--bootstrap-fingerprint", paramLabel = "SHA256", description = "its SHA-256 fingerprint (hex)")
                String bootstrapFingerprint,
                @Option(names = "--type", required = true, paramLabel = "AE-ID|CSE-ID|Node-ID", description = "the CertSubjectType")
                String type,
                @Option(names = "--subject-id", required = true, paramLabel = "ID", description = "the CertSubjectID") String subjectId,
                @Option(names = "--suids", paramLabel = "40,41,...", description = "the SUIDs it may request") String suids,
                @Option(names = "--profiles", paramLabel = "P1,P2", description = "default: default") String profiles,
                @Option(names = "--protocol", paramLabel = "est|scep", defaultValue = "est", converter = ProtocolConverter.class,
                        description = "what its CERT_PROV command names (default: est); scep also prints its challengePassword")
                StoredEnrolee.CertProvProtocol protocol)
                throws Exception {
            AdminClient client = client();
            JsonObject json = new JsonObject().put("id", id).put("certSubjectType", type).put("certSubjectID", subjectId);
            if (bootstrapCert != null) {
                json.put("bootstrapCertificate", Files.readString(userFile(bootstrapCert)));
            } else if (bootstrapFingerprint != null) {
                json.put("bootstrapFingerprint", bootstrapFingerprint);
            } else {
                throw new UsageException("--bootstrap-fingerprint is required (or --bootstrap-cert)");
            }
            json.put("suids", suids(suids));
            if (profiles != null) {
                json.put("profiles", list(profiles));
            }
            json.put("certProvProtocolID", protocol.name());
            return mefgate.printInstruction(client.postJson("/admin/enrolees", json.encode()));
        }

        @Command(name = "list-enrolees", description = "the registered Enrolees")
        int listEnrolees(@Option(names = "--out", paramLabel = "FILE", description = "write to FILE (owner-only) instead of stdout") String outFile)
                throws Exception {
            return mefgate.print(client().get("/admin/enrolees"), outFile(outFile));
        }

        @Command(name = "list-certs", description = "the issued certificates, filtered")
        int listCerts(@Option(names = "--enrolee", paramLabel = "ID", description = "only this Enrolee's") String enrolee,
                      @Option(names = "--status", paramLabel = "ISSUED|REVOKED", description = "only these") String status,
                      @Option(names = "--expires-before", paramLabel = "DATE|INSTANT", description = "only those expiring before")
                      String expiresBefore,
                      @Option(names = "--format", paramLabel = "json|pem|csv", description = "default: json") String format,
                      @Option(names = "--out", paramLabel = "FILE", description = "write to FILE (owner-only) instead of stdout") String outFile)
                throws Exception {
            Map<String, String> query = new LinkedHashMap<>();
            query.put("enrolee", enrolee);
            query.put("status", status);
            query.put("expiresBefore", expiresBefore);
            query.put("format", format);
            StringBuilder q = new StringBuilder();
            query.forEach((name, value) -> {
                if (value != null) {
                    q.append(q.length() == 0 ? "?" : "&").append(name).append('=').append(encode(value));
                }
            });
            return mefgate.print(client().get("/admin/certificates" + q), outFile(outFile));
        }

        @Command(name = "revoke", description = "revoke a certificate")
        int revoke(@Parameters(paramLabel = "SERIAL", description = "the certificate's serial number (hex)") String serial,
                   @Option(names = "--reason", paramLabel = "R", defaultValue = "unspecified", description = "unspecified (default), keyCompromise, cACompromise, affiliationChanged, "
                           + "superseded, cessationOfOperation, privilegeWithdrawn, aACompromise") String reason) throws Exception {
            JsonObject body = new JsonObject().put("reason", reason);
            return mefgate.print(client().postJson("/admin/certificates/" + encode(serial) + "/revoke", body.encode()), Optional.empty());
        }

        @Command(name = "instruct", description = "a new CERT_PROV command: the Enrolee may enrol once more with its bootstrap "
                + "credential (and, with --profiles, under these profiles from now on)")
        int instruct(@Option(names = "--id", required = true, paramLabel = "ID", description = "the registration's id") String id,
                     @Option(names = "--profiles", paramLabel = "P1,P2", description = "the profiles it may use from now on")
                     String profiles,
                     @Option(names = "--protocol", paramLabel = "est|scep", defaultValue = "est", converter = ProtocolConverter.class,
                             description = "what the command names (default: est); scep also prints a one-time challengePassword")
                     StoredEnrolee.CertProvProtocol protocol) throws Exception {
            JsonObject body = profiles != null ? new JsonObject().put("profiles", list(profiles)) : new JsonObject();
            body.put("certProvProtocolID", protocol.name());
            return mefgate.printInstruction(client().postJson("/admin/enrolees/" + pathSegment(id) + "/instruct", body.encode()));
        }

        @Command(name = "remove-enrolee", description = "delete the registration (issued certificates stay in the ledger)")
        int removeEnrolee(@Option(names = "--id", required = true, paramLabel = "ID", description = "the registration's id") String id) throws Exception {
            return mefgate.print(client().delete("/admin/enrolees/" + pathSegment(id)), Optional.empty());
        }

        @Command(name = "list-requests", description = "requests held for approval")
        int listRequests(@Option(names = "--status", paramLabel = "PENDING|APPROVED|REJECTED", description = "only these")
                         String status,
                         @Option(names = "--out", paramLabel = "FILE", description = "write to FILE (owner-only) instead of stdout") String outFile)
                throws Exception {
            return mefgate.print(client().get("/admin/requests" + (status != null ? "?status=" + pathSegment(status) : "")),
                    outFile(outFile));
        }

        @Command(name = "approve", description = "sign a held request; the client's next repeat gets the certificate")
        int approve(@Option(names = "--request", required = true, paramLabel = "ID", description = "the held request's id")
                    String request) throws Exception {
            return mefgate.print(client().postJson("/admin/requests/" + pathSegment(request) + "/approve", "{}"), Optional.empty());
        }

        @Command(name = "reject", description = "refuse a held request")
        int reject(@Option(names = "--request", required = true, paramLabel = "ID", description = "the held request's id")
                   String request,
                   @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "rejected by the operator",
                           description = "told to the client (default: rejected by the operator)") String reason)
                throws Exception {
            return mefgate.print(client().postJson("/admin/requests/" + pathSegment(request) + "/reject",
                    new JsonObject().put("reason", reason).encode()), Optional.empty());
        }

        @Command(name = "reload-policy", description = "re-read the policy directory (all files valid, or nothing changes)")
        int reloadPolicy() throws Exception {
            return mefgate.print(client().postJson("/admin/policy/reload", "{}"), Optional.empty());
        }

        @Command(name = "show-policy", description = "the profiles the gateway serves")
        int showPolicy(@Option(names = "--out", paramLabel = "FILE", description = "write to FILE (owner-only) instead of stdout") String outFile)
                throws Exception {
            return mefgate.print(client().get("/admin/policy"), outFile(outFile));
        }

        private AdminClient client() throws Exception {
            return new AdminClient(mefgate.config());
        }

        private static Optional<Path> outFile(String name) {
            return Optional.ofNullable(name).map(MefGate::userFile);
        }
    }

    @Command(name = "policy", description = "the policy files, without the running gateway")
    static final class Policy {
        @ParentCommand
        private MefGate mefgate;

        @Command(name = "check", description = "dry run of one CSR against one profile file: prints the decision and the "
                + "certificate it would issue (exit 0 issue, 3 deny)")
        int check(@Parameters(paramLabel = "CSR.pem", description = "the request, PEM or DER") String csr,
                  @Option(names = "--profile", paramLabel = "NAME", defaultValue = "default",
                          description = "the profile (its file name without .yaml; default: default)") String profile,
                  @Option(names = "--enrolee", paramLabel = "ID", description = "the Enrolee as the running gateway has it registered")
                  String enrolee,
                  @Option(names = "--type", paramLabel = "T", description = "or an Enrolee of this type ...") String type,
                  @Option(names = "--subject-id", paramLabel = "ID", description = "... and this subject id") String subjectId,
                  @Option(names = "--suids", paramLabel = "40,41", description = "the SUIDs it may request") String suids)
                throws Exception {
            Map<String, String> options = new LinkedHashMap<>();
            options.put("profile", profile);
            putIfGiven(options, "enrolee", enrolee);
            putIfGiven(options, "type", type);
            putIfGiven(options, "subject-id", subjectId);
            putIfGiven(options, "suids", suids);
            return PolicyCheck.run(mefgate.config(), profile, userFile(csr), options, mefgate.out);
        }

        private static void putIfGiven(Map<String, String> options, String name, String value) {
            if (value != null) {
                options.put(name, value);
            }
        }
    }

    @Command(name = "audit", description = "the audit log")
    static final class Audit {
        @ParentCommand
        private MefGate mefgate;

        /** Exit 0 when the chain is intact, 1 with the first broken link otherwise. */
        @Command(name = "verify", description = "check the audit log's hash chain; exit 1 and name the first broken link")
        int verify() throws Exception {
            HttpResponse<String> response = new AdminClient(mefgate.config()).get("/admin/audit/verify");
            if (response.statusCode() != 200) {
                mefgate.err.println("mefgate: the gateway refused (" + response.statusCode() + "): " + response.body().strip());
                return 1;
            }
            JsonObject v = new JsonObject(response.body());
            if (v.getBoolean("intact")) {
                mefgate.out.println("audit log intact: " + v.getLong("verifiedEvents") + " events, head " + v.getString("headHash"));
                return 0;
            }
            mefgate.out.println("audit log BROKEN at event " + v.getLong("firstBrokenSeq") + ": " + v.getString("reason")
                    + " (" + v.getLong("verifiedEvents") + " events before it verify)");
            return 1;
        }
    }

    private int print(HttpResponse<String> response, Optional<Path> outFile) throws IOException {
        if (response.statusCode() / 100 != 2) {
            err.println("mefgate: the gateway refused (" + response.statusCode() + "): " + response.body().strip());
            return 1;
        }
        if (outFile.isPresent()) {
            // Owner-only whatever the umask: an export lists Enrolees' certificates and names.
            PrivateFiles.write(outFile.get(), response.body().getBytes(StandardCharsets.UTF_8));
            out.println("wrote " + outFile.get());
        } else {
            out.println(response.body().strip());
        }
        return 0;
    }

    /**
     * An instruction's answer; a SCEP one's challengePassword on a line of its own, {@code challenge:
     * <value>}, for the operator's provisioning system to give the device (TS-0003 8.3.6.3).
     */
    private int printInstruction(HttpResponse<String> response) throws IOException {
        if (response.statusCode() / 100 != 2) {
            return print(response, Optional.empty());
        }
        JsonObject answer = new JsonObject(response.body());
        Object challenge = answer.remove("challenge");
        out.println(answer.encodePrettily());
        if (challenge != null) {
            out.println("challenge: " + challenge);
        }
        return 0;
    }

    /** --protocol: est or scep (TS-0003 12.3.2.5 certProvProtocolID 1 and 2). */
    static final class ProtocolConverter implements CommandLine.ITypeConverter<StoredEnrolee.CertProvProtocol> {
        @Override
        public StoredEnrolee.CertProvProtocol convert(String value) {
            return switch (value) {
                case "est" -> StoredEnrolee.CertProvProtocol.EST;
                case "scep" -> StoredEnrolee.CertProvProtocol.SCEP;
                default -> throw new CommandLine.TypeConversionException("expected est or scep, not '" + value + "'");
            };
        }
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Ids are [A-Za-z0-9._:-]; anything else is refused here rather than sent as a different path. */
    private static String pathSegment(String value) throws UsageException {
        if (!value.matches("[A-Za-z0-9._:-]{1,128}")) {
            throw new UsageException("'" + value + "' is not an id (letters, digits, . _ : -)");
        }
        return value;
    }

    private static JsonArray suids(String commaSeparated) throws UsageException {
        JsonArray suids = new JsonArray();
        if (commaSeparated != null && !commaSeparated.isBlank()) {
            for (String s : commaSeparated.split(",")) {
                try {
                    suids.add(Integer.parseInt(s.strip()));
                } catch (NumberFormatException e) {
                    throw new UsageException("--suids takes numbers such as 40,41, not '" + s + "'");
                }
            }
        }
        return suids;
    }

    /** A comma-separated option value as a JSON list. */
    private static JsonArray list(String commaSeparated) {
        JsonArray out = new JsonArray();
        for (String item : commaSeparated.split(",")) {
            out.add(item.strip());
        }
        return out;
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

    /** Arguments that parse but make no sense (a bad id, a profile that does not exist): exit 2. */
    public static final class UsageException extends Exception {
        public UsageException(String message) {
            super(message);
        }
    }
}
