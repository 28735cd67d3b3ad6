package org.mefgateway.gateway.token;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.MefGate;
import org.mefgateway.gateway.Pem;
import org.mefgateway.hsm.CaKey;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.HsmConfig;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.KeyAlgorithm;
import org.mefgateway.hsm.Pkcs11Token;

/**
 * {@code mefgate token ...}: the operator's tools for the CA keys on the token of a configured key
 * ({@code --key NAME}, default {@value CaKeyConfig#DEFAULT}). Keys are generated inside the token
 * (sensitive, never extractable, sign-only). The PIN comes from the configured file or environment
 * variable and is never printed, nor taken as an argument.
 */
public final class TokenCommands {
    public static final String USAGE = String.join("\n",
            "  token list-keys [--key NAME]       CA keys on the key's token: label, algorithm, certificate",
            "  token init-key [--key NAME] [--algorithm ec-p256|rsa-2048] [--subject DN] [--validity-days N] [--out CA.pem]",
            "                                     generate the CA key in the token with a self-signed root certificate",
            "  token csr [--key NAME] [--subject DN] --out FILE.csr",
            "                                     a PKCS#10 request for an external root to certify the CA key",
            "  token import-cert [--key NAME] --cert CHAIN.pem",
            "                                     store the certificate the external root issued (and its chain) beside the key");

    private final GatewayConfig config;
    private final PrintStream out;

    public TokenCommands(GatewayConfig config, PrintStream out) {
        this.config = config;
        this.out = out;
    }

    /** Runs one token command; {@link IllegalArgumentException} means a usage error. */
    public int run(List<String> args) throws HsmException, IOException {
        if (args.isEmpty()) {
            throw new IllegalArgumentException("token needs a command");
        }
        Map<String, String> o = options(args.subList(1, args.size()));
        HsmConfig hsm = key(o.getOrDefault("key", CaKeyConfig.DEFAULT)).primary();
        switch (args.get(0)) {
            case "list-keys" -> listKeys(hsm);
            case "init-key" -> initKey(hsm, o);
            case "csr" -> csr(hsm, o);
            case "import-cert" -> importCert(hsm, o);
            default -> throw new IllegalArgumentException("unknown token command '" + args.get(0) + "'");
        }
        return 0;
    }

    private void listKeys(HsmConfig hsm) throws HsmException {
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            List<CaKey> keys = token.caKeys();
            out.println("token '" + hsm.tokenLabel() + "' (slot " + token.slot() + "): " + keys.size() + " CA key(s)");
            for (CaKey k : keys) {
                X509Certificate c = k.certificate();
                boolean selfSigned = c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
                out.println("  " + k.label() + "  " + k.algorithm().cliName() + "  subject=" + c.getSubjectX500Principal().getName()
                        + "  " + (selfSigned ? "self-signed" : "issuer=" + c.getIssuerX500Principal().getName())
                        + "  notAfter=" + c.getNotAfter().toInstant() + "  chain=" + k.chain().size());
            }
        }
    }

    private void initKey(HsmConfig hsm, Map<String, String> o) throws HsmException, IOException {
        KeyAlgorithm algorithm = KeyAlgorithm.parse(o.getOrDefault("algorithm", "ec-p256"));
        String subject = o.getOrDefault("subject", config.ca().subject());
        Duration validity = o.containsKey("validity-days") ? Duration.ofDays(Integer.parseInt(o.get("validity-days")))
                : config.ca().validity();
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            CaKey key = token.createSelfSignedCa(subject, validity, algorithm);
            out.println("generated CA key '" + key.label() + "' (" + algorithm.cliName() + ", sensitive, not extractable, sign-only) on token '"
                    + hsm.tokenLabel() + "' with a self-signed certificate " + key.certificate().getSubjectX500Principal().getName());
            if (o.containsKey("out")) {
                Pem.write(MefGate.userFile(o.get("out")), key.certificate());
                out.println("certificate: " + o.get("out"));
            }
        }
    }

    private void csr(HsmConfig hsm, Map<String, String> o) throws HsmException, IOException {
        Path file = MefGate.userFile(require(o, "out"));
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            String subject = o.getOrDefault("subject", token.caKey().certificate().getSubjectX500Principal().getName());
            byte[] der = token.certificationRequest(subject).getEncoded();
            Files.writeString(file, "-----BEGIN CERTIFICATE REQUEST-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).encodeToString(der)
                    + "\n-----END CERTIFICATE REQUEST-----\n");
            out.println("certificate request for CA key '" + hsm.keyLabel() + "' (" + subject + "): " + file);
        }
    }

    private void importCert(HsmConfig hsm, Map<String, String> o) throws HsmException, IOException {
        List<X509Certificate> chain = Pem.read(MefGate.userFile(require(o, "cert")));
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("--cert " + o.get("cert") + " holds no certificate");
        }
        try (Pkcs11Token token = Pkcs11Token.open(hsm)) {
            CaKey key = token.importCaCertificate(chain);
            out.println("stored the certificate " + key.certificate().getSubjectX500Principal().getName() + " issued by "
                    + key.certificate().getIssuerX500Principal().getName() + " (chain of " + key.chain().size()
                    + ") beside CA key '" + key.label() + "' on token '" + hsm.tokenLabel() + "'");
            out.println("run 'mefgate init' to write it to " + config.dataDir().caCertificate()
                    + "; Enrolees need the external root as their trust anchor");
        }
    }

    private CaKeyConfig key(String name) {
        return config.caKeys().stream().filter(k -> k.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no CA key named '" + name + "' in the configuration"));
    }

    private static Map<String, String> options(List<String> args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            String key = args.get(i);
            if (!key.startsWith("--") || i + 1 >= args.size()) {
                throw new IllegalArgumentException("expected --option value pairs, got '" + key + "'");
            }
            options.put(key.substring(2), args.get(i + 1));
        }
        return options;
    }

    private static String require(Map<String, String> options, String key) {
        String v = options.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }
}
