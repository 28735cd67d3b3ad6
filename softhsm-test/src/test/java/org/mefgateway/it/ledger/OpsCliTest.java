package org.mefgateway.it.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;

/**
 * The CLIs as operators run them: {@code ops/mefgate serve --help} only prints help, {@code serve
 * --config F} serves on F's ports although the option follows the command, and the build's bash
 * completion scripts complete the commands. What needs the test's token runs the shaded jar that
 * ops/mefgate runs, directly: ops/mefgate points SoftHSM2 at the repository's own var/ token.
 */
class OpsCliTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path OPS_MEFGATE = ROOT.resolve("ops/mefgate");

    record Result(int exit, String out, String err) {
    }

    @Test
    void serveHelpPrintsTheUsageAndStartsNothing(@TempDir Path dir) throws Exception {
        Path configFile = configWithFixedPorts(dir);
        GatewayConfig config = GatewayConfig.load(configFile);

        Result help = run(dir, OPS_MEFGATE.toString(), "serve", "--config", configFile.toString(), "--help");

        assertEquals(0, help.exit(), help.toString());
        assertTrue(help.out().startsWith("Usage: mefgate serve [-h] [--config=FILE]"), help.toString());
        assertEquals("", help.err(), help.toString());
        assertFalse(Files.exists(config.dataDir().portsFile()), "no listener was bound");
        assertFalse(Files.exists(config.dataDir().caCertificate()), "nothing was initialised");
    }

    @Test
    void serveWithTheConfigOptionAfterTheCommandBindsThatConfigurationsPorts(@TempDir Path dir) throws Exception {
        Path configFile = configWithFixedPorts(dir);
        GatewayConfig config = GatewayConfig.load(configFile);
        Result init = run(dir, java(), "-jar", GatewayProcess.JAR.toString(), "init", "--config", configFile.toString());
        assertEquals(0, init.exit(), init.toString());

        Process serve = new ProcessBuilder(java(), "-jar", GatewayProcess.JAR.toString(), "serve", "--config", configFile.toString())
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("serve.log").toFile()).start();
        try {
            Map<String, Integer> bound = boundPorts(config, serve, dir.resolve("serve.log"));
            assertEquals(Map.of("est", config.est().port(), "admin", config.admin().port(), "publication", config.publication().port()),
                    bound);
        } finally {
            serve.destroy();
            serve.waitFor(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void anUnknownOptionAfterTheCommandIsRefusedWithExitTwo(@TempDir Path dir) throws Exception {
        Result refused = run(dir, OPS_MEFGATE.toString(), "serve", "--prot", "8443");

        assertEquals(2, refused.exit(), refused.toString());
        assertEquals("mefgate: unknown option \"--prot\" for serve", refused.err().lines().findFirst().orElse(""), refused.toString());
        assertTrue(refused.err().contains("Usage: mefgate serve"), refused.toString());
    }

    /** The scripts the build wrote complete the first word of each CLI to its commands. */
    @Test
    void theBuildsCompletionScriptsCompleteTheCommands(@TempDir Path dir) throws Exception {
        Path mefgate = ROOT.resolve("gateway/target/mefgate_completion");
        Path enrolee = ROOT.resolve("enrolee/target/enrolee_completion");

        assertEquals("admin", complete(dir, mefgate, "mefgate", "adm"));
        assertEquals("register-enrolee reject reload-policy remove-enrolee revoke", complete(dir, mefgate, "mefgate", "admin", "re"));
        assertEquals("import-cert init-key", complete(dir, mefgate, "mefgate", "token", "i"));
        assertEquals("enrol", complete(dir, enrolee, "enrolee", "enro"));
        assertEquals("renew", complete(dir, enrolee, "enrolee", "ren"));
    }

    /** What bash completion offers for the last word, as bash would call the script's function. */
    private static String complete(Path dir, Path script, String... words) throws Exception {
        assertTrue(Files.isRegularFile(script), script + " is missing: the build (mvn package) writes it");
        String array = String.join(" ", words);
        Result r = run(dir, "bash", "-c", "source " + script + "; COMP_WORDS=(" + array + "); COMP_CWORD=" + (words.length - 1)
                + "; COMP_LINE='" + array + "'; COMP_POINT=${#COMP_LINE}; _complete_" + words[0] + "; echo \"${COMPREPLY[*]}\"");
        assertEquals(0, r.exit(), r.toString());
        return r.out().strip();
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** A gateway configuration whose three listeners have fixed, currently free ports (not the defaults). */
    private static Path configWithFixedPorts(Path dir) throws Exception {
        Path file = Nodes.config(dir, "cli", SoftHsm.fresh("mef-test"), Nodes.trust(dir, DeviceMaker.create("Maker CLI CA")), "");
        String yaml = Files.readString(file);
        for (String listener : List.of("est", "admin", "publication")) {
            yaml = yaml.replace(listener + ": {host: 127.0.0.1, port: 0", listener + ": {host: 127.0.0.1, port: " + freePort());
        }
        Files.writeString(file, yaml);
        return file;
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** The ports the gateway wrote once all three listeners were bound. */
    private static Map<String, Integer> boundPorts(GatewayConfig config, Process serve, Path log) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
        while (Instant.now().isBefore(deadline)) {
            assertTrue(serve.isAlive(), () -> "serve exited: " + read(log));
            if (Files.exists(config.dataDir().portsFile())) {
                Map<String, Integer> found = new HashMap<>();
                for (String line : Files.readAllLines(config.dataDir().portsFile())) {
                    String[] kv = line.split("=", 2);
                    if (kv.length == 2) {
                        found.put(kv[0], Integer.parseInt(kv[1].strip()));
                    }
                }
                if (found.containsKey("publication")) {
                    return found;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("serve did not bind within 120 s: " + read(log));
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static Result run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(dir.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "did not finish: " + List.of(command));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }
}
