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
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Enrolee command line ({@code ops/enrolee <command>}). Prints one line per step on stdout;
 * a failure is one line on stderr starting with "enrolee: ", and the exit code says what kind of
 * failure it was (see {@link #USAGE}). Passwords are read from the environment or from files, never
 * from the command line, where other users of the machine could see them.
 */
public final class EnroleeCli {
    static final String USAGE = """
            usage:
              enrolee enrol --mef https://HOST:PORT --bootstrap BOOTSTRAP.p12 --mef-ca MEF-CA.pem --out OUT.p12
                            [--label LABEL] [--wait SECONDS] [--bootstrap-password-file FILE] [--out-password-file FILE]
                  Carries out the MEF Client Command waiting for this Enrolee (TS-0003 steps 1-13 over EST)
                  and writes the verified key, certificate chain and trust anchors to OUT.p12 (must not exist).
                  --bootstrap  PKCS#12 with the one TLS client key + chain the MEF knows this Enrolee by
                  --mef-ca     PEM certificate(s) that authenticate the MEF's TLS server before /cacerts
                  --wait       seconds to keep repeating the request while the MEF answers 202/503 with
                               Retry-After (default 0: exit 6 at once); the request is kept in OUT.p12.pending
                               and the same command run again resumes it (same key, same CSR, same challenge)
                  passwords:   bootstrap from MEF_BOOTSTRAP_PASSWORD or --bootstrap-password-file,
                               output from MEF_OUT_PASSWORD or --out-password-file (required)
              enrolee renew --in ENROLEE.p12 --mef https://HOST:PORT [--label LABEL] [--window-days N]
                            [--force] [--same-key] [--wait SECONDS] [--password-file FILE]
                  Re-enrols (EST /simplereenroll) over TLS with the current certificate, trusting only the
                  anchors stored in ENROLEE.p12, and replaces ENROLEE.p12 atomically. Renews only within
                  N days (default 30) of notAfter unless --force; a new key unless --same-key.
                  Pending requests are kept in ENROLEE.p12.pending and resumed like enrol's.
                  password from MEF_OUT_PASSWORD or --password-file
              enrolee show OUT.p12 [--password-file FILE]
                  Prints the installed certificate and trust anchors (password from MEF_OUT_PASSWORD or the file).

            exit codes:
              0 success (also: the MEF has no command for this Enrolee)
              1 unexpected internal error (set MEF_DEBUG=1 for a stack trace)
              2 usage error (bad arguments, unreadable input files or passwords)
              3 refused by the MEF (HTTP 4xx; the message shows status and reason)
              4 transport or server error (TLS failure, unreachable, HTTP 5xx, malformed answer)
              5 what the MEF returned failed verification; nothing was written
              6 pending: the MEF deferred issuance (HTTP 202); run the same command again after the time shown
              7 renew: not due yet (the certificate expires after the renewal window); nothing was sent
            """;

    private static final Set<String> ENROL_OPTIONS = Set.of("--mef", "--bootstrap", "--mef-ca", "--out", "--label",
            "--wait", "--bootstrap-password-file", "--out-password-file");
    private static final Set<String> RENEW_OPTIONS = Set.of("--in", "--mef", "--label", "--window-days", "--wait",
            "--password-file");
    private static final Set<String> RENEW_FLAGS = Set.of("--force", "--same-key");
    private static final Set<String> SHOW_OPTIONS = Set.of("--password-file");

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
    int run(String[] args) {
        try {
            if (args.length == 0) {
                throw new UsageException("no command given");
            }
            switch (args[0]) {
                case "enrol":
                    return enrol(options(args, ENROL_OPTIONS, Set.of(), 0));
                case "renew":
                    return renew(options(args, RENEW_OPTIONS, RENEW_FLAGS, 0));
                case "show":
                    return show(args);
                case "help", "-h", "--help":
                    out.print(USAGE);
                    return 0;
                default:
                    throw new UsageException("unknown command \"" + args[0] + "\"");
            }
        } catch (UsageException e) {
            return fail(2, e.getMessage() + " (enrolee --help shows the usage)", e);
        } catch (EnrolmentException e) {
            if (e.failure() == Failure.NOT_DUE) {
                // Not an error: a daily renew job hits this on most days.
                out.println(e.getMessage());
                return e.failure().exitCode();
            }
            return fail(e.failure().exitCode(), e.getMessage(), e);
        } catch (IOException e) {
            return fail(1, e.getMessage(), e);
        } catch (RuntimeException e) {
            return fail(1, "internal error: " + e, e);
        }
    }

    private int enrol(Map<String, String> options) throws UsageException, EnrolmentException, IOException {
        URI mef = mefUrl(required(options, "--mef"));
        Path bootstrapFile = Path.of(required(options, "--bootstrap"));
        Path mefCa = Path.of(required(options, "--mef-ca"));
        Path outFile = Path.of(required(options, "--out"));
        char[] bootstrapPassword = password(options.get("--bootstrap-password-file"), "MEF_BOOTSTRAP_PASSWORD",
                "--bootstrap-password-file", "the bootstrap PKCS#12");
        char[] outPassword = password(options.get("--out-password-file"), "MEF_OUT_PASSWORD",
                "--out-password-file", "the output PKCS#12");
        Duration waitBudget = Duration.ofSeconds(wholeNumber(options, "--wait", 0));
        // Checked before talking to the MEF: failing after issuance would waste the single-use challenge.
        if (Files.exists(outFile)) {
            throw new UsageException(outFile + " already exists; move it away or choose another --out");
        }
        Path outDirectory = outFile.toAbsolutePath().getParent();
        if (!Files.isDirectory(outDirectory) || !Files.isWritable(outDirectory)) {
            throw new UsageException("cannot write into " + outDirectory);
        }
        KeyStore bootstrap = bootstrapCredential(bootstrapFile, bootstrapPassword);
        List<X509Certificate> mefTrustAnchors = input(() -> Credentials.readPemCertificates(mefCa));

        Enrolee enrolee;
        try {
            enrolee = new Enrolee(new EnroleeOptions(mef, options.get("--label"), bootstrap, bootstrapPassword,
                    mefTrustAnchors, outFile, outPassword, waitBudget)).waiting(waiting);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        enrolee.enrol(this::printStep);
        return 0;
    }

    private int renew(Map<String, String> options) throws UsageException, EnrolmentException, IOException {
        Path file = Path.of(required(options, "--in"));
        URI mef = mefUrl(required(options, "--mef"));
        Duration window = Duration.ofDays(wholeNumber(options, "--window-days", RenewalOptions.DEFAULT_WINDOW.toDays()));
        Duration waitBudget = Duration.ofSeconds(wholeNumber(options, "--wait", 0));
        char[] password = password(options.get("--password-file"), "MEF_OUT_PASSWORD", "--password-file", file.toString());
        Path directory = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(directory) || !Files.isWritable(directory)) {
            throw new UsageException("cannot write into " + directory + " (the renewed file replaces " + file + " there)");
        }
        Renewal renewal;
        try {
            renewal = new Renewal(new RenewalOptions(mef, options.get("--label"), file, password, window,
                    options.containsKey("--force"), options.containsKey("--same-key"), waitBudget)).waiting(waiting);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        renewal.renew(this::printStep);
        return 0;
    }

    private void printStep(int number, String text) {
        out.println("[step " + (number == StepListener.PRE ? "pre" : number) + "] " + text);
    }

    /** A whole number option from 0 to 10^9 (seconds, days). */
    private static long wholeNumber(Map<String, String> options, String name, long defaultValue) throws UsageException {
        String text = options.get(name);
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

    private int show(String[] args) throws UsageException {
        if (args.length < 2 || args[1].startsWith("--")) {
            throw new UsageException("show needs the PKCS#12 file");
        }
        Map<String, String> options = options(args, SHOW_OPTIONS, Set.of(), 1);
        Path file = Path.of(args[1]);
        char[] password = password(options.get("--password-file"), "MEF_OUT_PASSWORD", "--password-file", file.toString());
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

    /**
     * Parses {@code --name value} pairs and value-less {@code flags} after the first {@code skip + 1}
     * arguments; a flag maps to "".
     */
    private static Map<String, String> options(String[] args, Set<String> known, Set<String> flags, int skip)
            throws UsageException {
        Map<String, String> options = new HashMap<>();
        for (int i = 1 + skip; i < args.length; i += 2) {
            String name = args[i];
            if (flags.contains(name)) {
                if (options.put(name, "") != null) {
                    throw new UsageException(name + " given twice");
                }
                i--;
                continue;
            }
            if (!known.contains(name)) {
                throw new UsageException("unknown option \"" + name + "\" for " + args[0]);
            }
            if (i + 1 >= args.length) {
                throw new UsageException(name + " needs a value");
            }
            if (options.put(name, args[i + 1]) != null) {
                throw new UsageException(name + " given twice");
            }
        }
        return options;
    }

    private static String required(Map<String, String> options, String name) throws UsageException {
        String value = options.get(name);
        if (value == null) {
            throw new UsageException("missing " + name);
        }
        return value;
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
        if ("1".equals(env.get("MEF_DEBUG"))) {
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
