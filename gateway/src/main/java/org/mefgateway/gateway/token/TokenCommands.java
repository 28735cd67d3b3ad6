package org.mefgateway.gateway.token;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.MefGate;
import org.mefgateway.gateway.Pem;
import org.mefgateway.hsm.CaKey;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.KeyAlgorithm;
import org.mefgateway.hsm.Pkcs11Token;
import org.mefgateway.hsm.RaKey;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mefgate token ...}: the operator's tools for the CA keys on the token of a configured key
 * ({@code --key NAME}, default {@value CaKeyConfig#DEFAULT}), and for the SCEP RA key beside it
 * (listing and renewal of its certificate, RFC 8894 2.1). Keys are generated inside the token
 * (sensitive, never extractable, sign-only). The PIN comes from the configured file or environment
 * variable and is never printed, nor taken as an argument.
 */
@Command(name = "token", description = "the CA keys on the PKCS#11 token (the PIN comes from the configuration, never an argument)")
public final class TokenCommands {
    private final Callable<GatewayConfig> config;
    private final PrintStream out;

    /** @param config the configuration, read when a command needs it (mefgate's --config may follow the command) */
    public TokenCommands(Callable<GatewayConfig> config, PrintStream out) {
        this.config = config;
        this.out = out;
    }

    /**
     * Runs one token command line ({@code init-key --key NAME ...}) in this process, as
     * {@code mefgate token ...} would; failures are thrown, a bad command line as
     * {@link CommandLine.ParameterException}.
     */
    public int run(List<String> args) throws Exception {
        CommandLine commandLine = new CommandLine(this);
        try {
            return new CommandLine.RunLast().execute(commandLine.parseArgs(args.toArray(String[]::new)));
        } catch (CommandLine.ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    @Command(name = "list-keys", description = "CA keys and SCEP RA keys on the key's token: label, algorithm, certificate")
    int listKeys(@Option(names = "--key", paramLabel = "NAME", defaultValue = CaKeyConfig.DEFAULT,
            description = "the configured CA key (default: " + CaKeyConfig.DEFAULT + ")") String key) throws Exception {
        listKeys(hsm(key));
        return 0;
    }

    @Command(name = "init-key", description = "generate the CA key in the token with a self-signed root certificate")
    int initKey(@Option(names = "--key", paramLabel = "NAME", defaultValue = CaKeyConfig.DEFAULT,
                        description = "the configured CA key (default: " + CaKeyConfig.DEFAULT + ")") String key,
                @Option(names = "--algorithm", paramLabel = "ec-p256|rsa-2048", defaultValue = "ec-p256",
                        description = "default: ec-p256") String algorithm,
                @Option(names = "--subject", paramLabel = "DN", description = "default: the configured ca.subject") String subject,
                @Option(names = "--validity-days", paramLabel = "N", description = "default: the configured ca.validityDays")
                Integer validityDays,
                @Option(names = "--out", paramLabel = "CA.pem", description = "also write the certificate to this file") String outFile)
            throws Exception {
        KeyAlgorithm keyAlgorithm;
        try {
            keyAlgorithm = KeyAlgorithm.parse(algorithm);
        } catch (IllegalArgumentException e) {
            throw new MefGate.UsageException(e.getMessage());
        }
        initKey(hsm(key), keyAlgorithm, subject, validityDays, outFile);
        return 0;
    }

    @Command(name = "csr", description = "a PKCS#10 request for an external root to certify the CA key")
    int csr(@Option(names = "--key", paramLabel = "NAME", defaultValue = CaKeyConfig.DEFAULT,
                    description = "the configured CA key (default: " + CaKeyConfig.DEFAULT + ")") String key,
            @Option(names = "--subject", paramLabel = "DN", description = "default: the subject of the key's certificate") String subject,
            @Option(names = "--out", required = true, paramLabel = "FILE.csr", description = "where to write the request") String outFile) throws Exception {
        csr(hsm(key), subject, outFile);
        return 0;
    }

    @Command(name = "import-cert", description = "store the certificate the external root issued (and its chain) beside the key")
    int importCert(@Option(names = "--key", paramLabel = "NAME", defaultValue = CaKeyConfig.DEFAULT,
                           description = "the configured CA key (default: " + CaKeyConfig.DEFAULT + ")") String key,
                   @Option(names = "--cert", required = true, paramLabel = "CHAIN.pem",
                           description = "the certificate for the key, then its chain") String cert) throws Exception {
        importCert(hsm(key), cert);
        return 0;
    }

    @Command(name = "renew-scep-ra", description = "certify the SCEP RA key again with the CA key (same key, new certificate); "
            + "the gateway serves it from its next start")
    int renewScepRa(@Option(names = "--key", paramLabel = "NAME", defaultValue = CaKeyConfig.DEFAULT,
            description = "the configured CA key (default: " + CaKeyConfig.DEFAULT + ")") String key) throws Exception {
        HsmConfig hsm = hsm(key);
        X509Certificate c = RaKey.renew(hsm);
        out.println("renewed the certificate of SCEP RA key '" + RaKey.label(hsm.keyLabel()) + "' on token '" + hsm.tokenLabel()
                + "': " + c.getSubjectX500Principal().getName() + "  serial=" + c.getSerialNumber().toString(16)
                + "  notAfter=" + c.getNotAfter().toInstant() + "  issued by CA key '" + hsm.keyLabel() + "'");
        // The key is the same, so envelopes addressed to the old certificate's serial still decrypt (RaKey.decrypt).
        out.println("the key is the same: devices holding the old RA certificate keep enrolling with it;"
                + " a running gateway serves the new certificate from its next start");
        return 0;
    }

    private void listKeys(HsmConfig hsm) throws HsmException {
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            List<CaKey> all = token.caKeys();
            List<String> raLabels = all.stream().map(k -> RaKey.label(k.label())).toList();
            List<CaKey> keys = all.stream().filter(k -> !raLabels.contains(k.label())).toList();
            List<CaKey> raKeys = all.stream().filter(k -> raLabels.contains(k.label())).toList();
            out.println("token '" + hsm.tokenLabel() + "' (slot " + token.slot() + "): " + keys.size() + " CA key(s), "
                    + raKeys.size() + " SCEP RA key(s)");
            for (CaKey k : keys) {
                X509Certificate c = k.certificate();
                boolean selfSigned = c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
                out.println("  " + k.label() + "  " + k.algorithm().cliName() + "  subject=" + c.getSubjectX500Principal().getName()
                        + "  " + (selfSigned ? "self-signed" : "issuer=" + c.getIssuerX500Principal().getName())
                        + "  notAfter=" + c.getNotAfter().toInstant() + "  chain=" + k.chain().size());
            }
            // RFC 8894 2.1: the RA certificate a CA key issued, which SCEP clients encrypt to and verify CertRep with.
            for (CaKey ra : raKeys) {
                X509Certificate c = ra.certificate();
                String caKey = keys.stream().filter(k -> RaKey.label(k.label()).equals(ra.label())).findFirst().orElseThrow().label();
                out.println("  " + ra.label() + "  " + ra.algorithm().cliName() + "  SCEP RA key of CA key '" + caKey + "'  subject="
                        + c.getSubjectX500Principal().getName() + "  serial=" + c.getSerialNumber().toString(16)
                        + "  notAfter=" + c.getNotAfter().toInstant());
            }
        }
    }

    private void initKey(HsmConfig hsm, KeyAlgorithm algorithm, String subjectOrNull, Integer validityDays, String outFile)
            throws Exception {
        String subject = subjectOrNull != null ? subjectOrNull : config.call().ca().subject();
        Duration validity = validityDays != null ? Duration.ofDays(validityDays) : config.call().ca().validity();
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            CaKey key = token.createSelfSignedCa(subject, validity, algorithm);
            out.println("generated CA key '" + key.label() + "' (" + algorithm.cliName() + ", sensitive, not extractable, sign-only) on token '"
                    + hsm.tokenLabel() + "' with a self-signed certificate " + key.certificate().getSubjectX500Principal().getName());
            if (outFile != null) {
                Pem.write(MefGate.userFile(outFile), key.certificate());
                out.println("certificate: " + outFile);
            }
        }
    }

    private void csr(HsmConfig hsm, String subjectOrNull, String outFile) throws HsmException, IOException {
        Path file = MefGate.userFile(outFile);
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            String subject = subjectOrNull != null ? subjectOrNull : token.caKey().certificate().getSubjectX500Principal().getName();
            byte[] der = token.certificationRequest(subject).getEncoded();
            Files.writeString(file, "-----BEGIN CERTIFICATE REQUEST-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).encodeToString(der)
                    + "\n-----END CERTIFICATE REQUEST-----\n");
            out.println("certificate request for CA key '" + hsm.keyLabel() + "' (" + subject + "): " + file);
        }
    }

    private void importCert(HsmConfig hsm, String cert) throws Exception {
        List<X509Certificate> chain = Pem.read(MefGate.userFile(cert));
        if (chain.isEmpty()) {
            throw new MefGate.UsageException("--cert " + cert + " holds no certificate");
        }
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            CaKey key = token.importCaCertificate(chain);
            out.println("stored the certificate " + key.certificate().getSubjectX500Principal().getName() + " issued by "
                    + key.certificate().getIssuerX500Principal().getName() + " (chain of " + key.chain().size()
                    + ") beside CA key '" + key.label() + "' on token '" + hsm.tokenLabel() + "'");
            out.println("run 'mefgate init' to write it to " + config.call().dataDir().caCertificate()
                    + "; Enrolees need the external root as their trust anchor");
        }
    }

    /** The primary token of the configured CA key {@code name}. */
    private HsmConfig hsm(String name) throws Exception {
        return config.call().caKeys().stream().filter(k -> k.name().equals(name)).findFirst()
                .orElseThrow(() -> new MefGate.UsageException("no CA key named '" + name + "' in the configuration"))
                .primary();
    }
}
