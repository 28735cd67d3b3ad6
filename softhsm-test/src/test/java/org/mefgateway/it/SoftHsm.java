package org.mefgateway.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.mefgateway.hsm.HsmConfig;

/**
 * A fresh SoftHSM2 token for one test class. SoftHSM reads SOFTHSM2_CONF once per process, and
 * surefire gives every test class its own JVM with SOFTHSM2_CONF pointing at {@link #CONF}; this
 * fixture writes that file anew with an empty token directory of its own, then initialises one
 * token with random PINs through softhsm2-util (the way an operator would).
 */
public final class SoftHsm {
    public static final Path LIBRARY = Paths.get("/usr/lib/softhsm/libsofthsm2.so");
    public static final Path CONF = Paths.get(System.getProperty("softhsm.conf", "target/softhsm/softhsm2.conf"));

    public final Path dir;
    public final String tokenLabel;
    public final Path pinFile;
    private final String pin;

    private SoftHsm(Path dir, String tokenLabel, Path pinFile, String pin) {
        this.dir = dir;
        this.tokenLabel = tokenLabel;
        this.pinFile = pinFile;
        this.pin = pin;
    }

    public static SoftHsm fresh(String tokenLabel) throws IOException, InterruptedException {
        if (!CONF.toString().equals(System.getenv("SOFTHSM2_CONF"))) {
            throw new IllegalStateException("SOFTHSM2_CONF must be " + CONF + " (set by surefire), is " + System.getenv("SOFTHSM2_CONF"));
        }
        Files.createDirectories(CONF.getParent());
        Path dir = Files.createTempDirectory(CONF.getParent(), "token-");
        Path tokens = Files.createDirectory(dir.resolve("tokens"));
        Files.writeString(CONF, String.join("\n",
                "directories.tokendir = " + tokens.toAbsolutePath(),
                "objectstore.backend = file",
                "log.level = ERROR",
                "slots.removable = false",
                ""));
        String pin = randomPin();
        String soPin = randomPin();
        recordSecret(pin);
        recordSecret(soPin);
        Path pinFile = dir.resolve("user.pin");
        Files.createFile(pinFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(pinFile, pin);
        run(List.of("softhsm2-util", "--init-token", "--free", "--label", tokenLabel, "--so-pin", soPin, "--pin", pin));
        return new SoftHsm(dir, tokenLabel, pinFile, pin);
    }

    /**
     * A further token in the same token directory, with its own random PINs. SoftHSM lists the
     * tokens it finds at C_Initialize, so call this before the test opens any token.
     */
    public SoftHsm addToken(String label) throws IOException, InterruptedException {
        String pin = randomPin();
        String soPin = randomPin();
        recordSecret(pin);
        recordSecret(soPin);
        Path pinFile = dir.resolve(label + ".pin");
        Files.createFile(pinFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(pinFile, pin);
        run(List.of("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", soPin, "--pin", pin));
        return new SoftHsm(dir, label, pinFile, pin);
    }

    public HsmConfig config(String keyLabel) {
        return new HsmConfig(LIBRARY, tokenLabel, keyLabel, Optional.empty(), Optional.of(pinFile), 2, 256);
    }

    /** The user PIN, for tools such as pkcs11-tool that take it as an argument. Tests only. */
    public String pin() {
        return pin;
    }

    public static String run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("SOFTHSM2_CONF", CONF.toAbsolutePath().toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(command.get(0) + " failed (" + p.exitValue() + "): " + out);
        }
        return out;
    }

    /** This module's build directory (target/), where everything the tests write stays for SecretsNotInOutputTest. */
    public static final Path TARGET = CONF.toAbsolutePath().getParent().getParent();

    /**
     * Every secret a test creates or hands to the gateway (token PINs and SO PINs, database
     * passwords), one per line: SecretsNotInOutputTest, run after all other tests, fails if any
     * appears in their output.
     */
    public static final Path SECRETS = TARGET.resolve("secrets-under-test.txt");

    static synchronized void recordSecret(String secret) throws IOException {
        Files.createDirectories(SECRETS.getParent());
        Files.writeString(SECRETS, secret + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    private static String randomPin() {
        byte[] b = new byte[8];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
