package org.mefgateway.enrolee;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The Enrolee command line ({@code ops/enrolee <command>}). Prints one line per step on stdout;
 * a failure is one line on stderr starting with "enrolee: ", and the exit code says what kind of
 * failure it was (see the footer of the usage). Passwords are read from the environment or from
 * files, never from the command line, where other users of the machine could see them.
 */
@Command(name = "enrolee", description = "The Enrolee (MEF Client): enrols with a MEF over EST (oneM2M TS-0003 steps 1-13).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:success (also: the MEF has no command for this Enrolee)",
                "1:unexpected internal error (set MEF_DEBUG=1 for a stack trace)",
                "2:usage error (bad arguments, unreadable input files or passwords)",
                "3:refused by the MEF (HTTP 4xx; the message shows status and reason)",
                "4:transport or server error (TLS failure, unreachable, HTTP 5xx, malformed answer)",
                "5:what the MEF returned failed verification; nothing was written",
                "6:pending: the MEF deferred issuance (HTTP 202); run the same command again after the time shown",
                "7:renew: not due yet (the certificate expires after the renewal window); nothing was sent"})
public final class EnroleeCli implements Callable<Integer> {
    private final Map<String, String> env;
    private final PrintStream out;
    private final PrintStream err;
    private final Waiting waiting;

    EnroleeCli(Map<String, String> env, PrintStream out, PrintStream err) {
        this(env, out, err, Waiting.SYSTEM);
    }

    EnroleeCli(Map<String, String> env, PrintStream out, PrintStream err, Waiting waiting) {
        this.env = env;
        this.out = out;
        this.err = err;
        this.waiting = waiting;
    }

    public static void main(String[] args) {
        System.exit(new EnroleeCli(System.getenv(), System.out, System.err).run(args));
    }

    /** Runs one command and returns the exit code. */
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
                .addSubcommand(new CommandLine.HelpCommand())
                .addSubcommand(new AutoComplete.GenerateCompletion());
        // 'enrolee generate-completion' prints the bash completion script; the build writes it to
        // enrolee/target/enrolee_completion. Not a user's command, so not in the help.
        commandLine.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(true);
        return CliUsage.configure(commandLine, out, err, this::failed);
    }

    /** {@code enrolee} alone. */
    @Override
    public Integer call() {
        return fail(2, "no command given (enrolee --help shows the usage)", null);
    }

    @Command(name = "enrol", description = "enrol with the bootstrap credential (TS-0003 steps 1-13 over EST)",
            footer = {"", "Carries out the MEF Client Command waiting for this Enrolee and writes the verified key, certificate "
                    + "chain and trust anchors to OUT.p12 (must not exist). Passwords: the bootstrap one from "
                    + "MEF_BOOTSTRAP_PASSWORD or --bootstrap-password-file, the output one from MEF_OUT_PASSWORD or "
                    + "--out-password-file (required)."})
    int enrol(@Option(names = "--mef", required = true, paramLabel = "https://HOST:PORT", description = "the MEF") String mef,
              @Option(names = "--bootstrap", required = true, paramLabel = "BOOTSTRAP.p12",
                      description = "PKCS#12 with the one TLS client key + chain the MEF knows this Enrolee by") String bootstrap,
              @Option(names = "--mef-ca", required = true, paramLabel = "MEF-CA.pem",
                      description = "PEM certificate(s) that authenticate the MEF's TLS server before /cacerts") String mefCa,
              @Option(names = "--out", required = true, paramLabel = "OUT.p12",
                      description = "where to write the new credential (must not exist)") String outFile,
              @Option(names = "--label", paramLabel = "LABEL", description = "the EST label (the MEF's profile)") String label,
              @Option(names = "--wait", paramLabel = "SECONDS", description = "seconds to keep repeating the request while the MEF "
                      + "answers 202/503 with Retry-After (default 0: exit 6 at once); the request is kept in OUT.p12.pending "
                      + "and the same command run again resumes it (same key, same CSR, same challenge)") String wait,
              @Option(names = "--bootstrap-password-file", paramLabel = "FILE",
                      description = "the bootstrap password (else MEF_BOOTSTRAP_PASSWORD)") String bootstrapPasswordFile,
              @Option(names = "--out-password-file", paramLabel = "FILE",
                      description = "the output password (else MEF_OUT_PASSWORD)") String outPasswordFile)
            throws UsageException, EnrolmentException, IOException {
        URI mefUrl = mefUrl(mef);
        Path bootstrapFile = Path.of(bootstrap);
        Path mefCaFile = Path.of(mefCa);
        Path out = Path.of(outFile);
        char[] bootstrapPassword = password(bootstrapPasswordFile, "MEF_BOOTSTRAP_PASSWORD",
                "--bootstrap-password-file", "the bootstrap PKCS#12");
        char[] outPassword = password(outPasswordFile, "MEF_OUT_PASSWORD", "--out-password-file", "the output PKCS#12");
        Duration waitBudget = Duration.ofSeconds(wholeNumber("--wait", wait, 0));
        // Checked before talking to the MEF: failing after issuance would waste the single-use challenge.
        if (Files.exists(out)) {
            throw new UsageException(out + " already exists; move it away or choose another --out");
        }
        Path outDirectory = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(outDirectory) || !Files.isWritable(outDirectory)) {
            throw new UsageException("cannot write into " + outDirectory);
        }
        KeyStore bootstrapStore = bootstrapCredential(bootstrapFile, bootstrapPassword);
        List<X509Certificate> mefTrustAnchors = input(() -> Credentials.readPemCertificates(mefCaFile));

        Enrolee enrolee;
        try {
            enrolee = new Enrolee(new EnroleeOptions(mefUrl, label, bootstrapStore, bootstrapPassword,
                    mefTrustAnchors, out, outPassword, waitBudget)).waiting(waiting);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        enrolee.enrol(this::printStep);
        return 0;
    }

    @Command(name = "renew", description = "renew the installed certificate before it expires (EST /simplereenroll)",
            footer = {"", "Re-enrols over TLS with the current certificate, trusting only the anchors stored in ENROLEE.p12, "
                    + "and replaces ENROLEE.p12 atomically. Renews only within N days (default 30) of notAfter unless "
                    + "--force; a new key unless --same-key. Pending requests are kept in ENROLEE.p12.pending and resumed "
                    + "like enrol's. Password from MEF_OUT_PASSWORD or --password-file."})
    int renew(@Option(names = "--in", required = true, paramLabel = "ENROLEE.p12", description = "the credential to renew")
              String in,
              @Option(names = "--mef", required = true, paramLabel = "https://HOST:PORT", description = "the MEF") String mef,
              @Option(names = "--label", paramLabel = "LABEL", description = "the EST label (the MEF's profile)") String label,
              @Option(names = "--window-days", paramLabel = "N", description = "renew within N days of notAfter (default 30)")
              String windowDays,
              @Option(names = "--force", description = "renew even before the window") boolean force,
              @Option(names = "--same-key", description = "keep the current key") boolean sameKey,
              @Option(names = "--wait", paramLabel = "SECONDS", description = "as for enrol") String wait,
              @Option(names = "--password-file", paramLabel = "FILE", description = "its password (else MEF_OUT_PASSWORD)")
              String passwordFile)
            throws UsageException, EnrolmentException, IOException {
        Path file = Path.of(in);
        URI mefUrl = mefUrl(mef);
        Duration window = Duration.ofDays(wholeNumber("--window-days", windowDays, RenewalOptions.DEFAULT_WINDOW.toDays()));
        Duration waitBudget = Duration.ofSeconds(wholeNumber("--wait", wait, 0));
        char[] password = password(passwordFile, "MEF_OUT_PASSWORD", "--password-file", file.toString());
        Path directory = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(directory) || !Files.isWritable(directory)) {
            throw new UsageException("cannot write into " + directory + " (the renewed file replaces " + file + " there)");
        }
        Renewal renewal;
        try {
            renewal = new Renewal(new RenewalOptions(mefUrl, label, file, password, window, force, sameKey, waitBudget))
                    .waiting(waiting);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        renewal.renew(this::printStep);
        return 0;
    }

    /** How an exception out of a command ends the run: the exit code. */
    private int failed(Exception e, CommandLine failed) {
        if (e instanceof UsageException) {
            return fail(2, e.getMessage() + " (enrolee --help shows the usage)", e);
        }
        if (e instanceof EnrolmentException enrolment) {
            if (enrolment.failure() == Failure.NOT_DUE) {
                // Not an error: a daily renew job hits this on most days.
                out.println(e.getMessage());
                return enrolment.failure().exitCode();
            }
            return fail(enrolment.failure().exitCode(), e.getMessage(), e);
        }
        if (e instanceof IOException) {
            return fail(1, e.getMessage(), e);
        }
        return fail(1, "internal error: " + e, e);
    }

    private void printStep(int number, String text) {
        out.println("[step " + (number == StepListener.PRE ? "pre" : number) + "] " + text);
    }

    /** A whole number option from 0 to 10^9 (seconds, days). */
    private static long wholeNumber(String name, String text, long defaultValue) throws UsageException {
        if (text == null) {
            return defaultValue;
        }
        try {
            long value = Long.parseLong(text);
            if (value < 0 || value > 1_000_000_000L) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new UsageException(name + " needs a whole number from 0 to 10^9, got \"" + text + "\"");
        }
    }

    @Command(name = "show", description = "print the installed certificate and trust anchors",
            footer = {"", "Password from MEF_OUT_PASSWORD or --password-file."})
    int show(@Parameters(paramLabel = "OUT.p12", description = "the credential enrol or renew wrote") String fileName,
             @Option(names = "--password-file", paramLabel = "FILE", description = "its password (else MEF_OUT_PASSWORD)")
             String passwordFile) throws UsageException {
        Path file = Path.of(fileName);
        char[] password = password(passwordFile, "MEF_OUT_PASSWORD", "--password-file", file.toString());
        Credentials credentials = input(() -> Credentials.read(file, password));
        X509Certificate certificate = credentials.certificate();
        out.println("file:       " + file);
        out.println("subject:    " + certificate.getSubjectX500Principal().getName());
        try {
            out.println("SAN:        " + Describe.generalNames(Verifier.subjectAltNames(certificate)));
            out.println("EKUs:       " + Describe.oids(certificate.getExtendedKeyUsage()));
        } catch (EnrolmentException | java.security.cert.CertificateParsingException e) {
            throw new UsageException(file + " holds a certificate with malformed extensions: " + e.getMessage());
        }
        out.println("issuer:     " + certificate.getIssuerX500Principal().getName());
        out.println("serial:     " + certificate.getSerialNumber().toString(16));
        out.println("validity:   " + certificate.getNotBefore().toInstant() + " .. " + certificate.getNotAfter().toInstant());
        out.println("chain:      " + credentials.chain().size() + " certificate(s)");
        for (int i = 0; i < credentials.trustAnchors().size(); i++) {
            X509Certificate anchor = credentials.trustAnchors().get(i);
            out.println("anchor-" + i + ":   " + anchor.getSubjectX500Principal().getName()
                    + " (SHA-256 " + fingerprint(anchor) + ")");
        }
        Path pending = PendingRequest.fileFor(file);
        if (Files.exists(pending)) {
            out.println("pending:    " + pending + " (a renewal is pending: run renew again to resume it)");
        }
        return 0;
    }

    /**
     * The bootstrap PKCS#12 must hold exactly one private key entry: with several, the TLS layer
     * would pick one by the server's CA list, and the operator could not tell which identity enrolled.
     */
    private static KeyStore bootstrapCredential(Path file, char[] password) throws UsageException {
        KeyStore store = input(() -> Credentials.loadPkcs12(file, password));
        try {
            long keyEntries = 0;
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias)) {
                    keyEntries++;
                }
            }
            if (keyEntries != 1) {
                throw new UsageException(file + " holds " + keyEntries + " private key entries; the bootstrap credential needs exactly one");
            }
            return store;
        } catch (KeyStoreException e) {
            throw new UsageException("cannot list " + file + ": " + e.getMessage());
        }
    }

    private static URI mefUrl(String text) throws UsageException {
        try {
            return new URI(text);
        } catch (URISyntaxException e) {
            throw new UsageException("--mef is not a URL: " + e.getMessage());
        }
    }

    /** A password file wins over the environment variable; a trailing line break is not part of it. */
    private char[] password(String file, String variable, String option, String what) throws UsageException {
        if (file != null) {
            String text = input(() -> Files.readString(Path.of(file), StandardCharsets.UTF_8));
            return text.replaceFirst("\r?\n$", "").toCharArray();
        }
        String value = env.get(variable);
        if (value == null) {
            throw new UsageException("no password for " + what + ": set " + variable + " or use " + option + " FILE");
        }
        return value.toCharArray();
    }

    private static String fingerprint(X509Certificate certificate) {
        try {
            return HexFormat.ofDelimiter(":").formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint a certificate", e);
        }
    }

    private int fail(int exitCode, String message, Exception e) {
        err.println("enrolee: " + message);
        if (e != null && "1".equals(env.get("MEF_DEBUG"))) {
            e.printStackTrace(err);
        }
        return exitCode;
    }

    /** Reading a local input file: a failure is the user's to fix (exit code 2). */
    private static <T> T input(IoSupplier<T> read) throws UsageException {
        try {
            return read.get();
        } catch (IOException e) {
            throw new UsageException(e instanceof NoSuchFileException ? "no such file: " + e.getMessage() : e.getMessage());
        }
    }

    @FunctionalInterface
    private interface IoSupplier<T> {
        T get() throws IOException;
    }

    /** Bad arguments or unusable local input: exit code 2. */
    private static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }
}
