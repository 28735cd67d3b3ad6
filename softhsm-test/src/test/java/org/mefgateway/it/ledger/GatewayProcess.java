package org.mefgateway.it.ledger;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.mefgateway.gateway.GatewayConfig;

/**
 * A gateway as operators run it: a separate JVM started from the shaded CLI jar
 * ({@code java -jar gateway-cli.jar --config F serve}), so that it can be killed with SIGKILL and
 * so that two of them are really two processes sharing a token and a database.
 */
final class GatewayProcess implements AutoCloseable {
    static final Path JAR = Path.of(System.getProperty("gateway.cli.jar", "../gateway/target/gateway-0.1.0-SNAPSHOT-cli.jar"));

    final Path configFile;
    final GatewayConfig config;
    final Path log;
    private Process process;
    private Map<String, Integer> ports = Map.of();
    private final Map<String, String> environment = new HashMap<>();

    private GatewayProcess(Path configFile, GatewayConfig config, Path log) {
        this.configFile = configFile;
        this.config = config;
        this.log = log;
    }

    /** {@code mefgate init} in its own process, then a handle to start the node with. */
    static GatewayProcess init(Path configFile) throws Exception {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR + " is missing: build the gateway module first (mvn package)");
        }
        GatewayConfig config = GatewayConfig.load(configFile);
        Path log = configFile.resolveSibling(configFile.getFileName() + ".log");
        Process init = new ProcessBuilder(command(configFile, "init")).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        if (!init.waitFor(120, TimeUnit.SECONDS) || init.exitValue() != 0) {
            init.destroyForcibly();
            throw new IOException("mefgate init failed: " + Files.readString(log));
        }
        return new GatewayProcess(configFile, config, log);
    }

    private static List<String> command(Path configFile, String what) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", JAR.toString(), "--config", configFile.toString()));
        cmd.add(what);
        return cmd;
    }

    /** An environment variable for the next {@link #start()}; a null value removes it from what this JVM passes on. */
    GatewayProcess environment(String name, String value) {
        environment.put(name, value);
        return this;
    }

    /** Starts {@code serve} and returns once all three listeners are bound (the ports file is written last). */
    GatewayProcess start() throws Exception {
        Files.deleteIfExists(config.dataDir().portsFile());
        ProcessBuilder serve = new ProcessBuilder(command(configFile, "serve")).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        environment.forEach((name, value) -> {
            if (value == null) {
                serve.environment().remove(name);
            } else {
                serve.environment().put(name, value);
            }
        });
        process = serve.start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IOException("the gateway exited (" + process.exitValue() + "): " + Files.readString(log));
            }
            if (Files.exists(config.dataDir().portsFile())) {
                Map<String, Integer> found = new HashMap<>();
                for (String line : Files.readAllLines(config.dataDir().portsFile())) {
                    String[] kv = line.split("=", 2);
                    if (kv.length == 2) {
                        found.put(kv[0], Integer.parseInt(kv[1].strip()));
                    }
                }
                if (found.containsKey("publication")) {
                    ports = found;
                    return this;
                }
            }
            Thread.sleep(100);
        }
        process.destroyForcibly();
        throw new IOException("the gateway did not start within 90 s: " + Files.readString(log));
    }

    URI est(String path) {
        return URI.create("https://127.0.0.1:" + ports.get("est") + "/.well-known/est" + path);
    }

    URI publication(String path) {
        return URI.create("http://127.0.0.1:" + ports.get("publication") + path);
    }

    /** SIGKILL: no shutdown hook, no flush, no goodbye. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM (what {@code Process.destroy()} sends on Linux), as systemd and Ctrl-C stop the service; does not wait. */
    void sigterm() {
        process.destroy();
    }

    /** Waits for the process to end and returns its exit code; fails if it is still running after {@code bound}. */
    int exitCode(Duration bound) throws InterruptedException {
        if (!process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("the gateway process did not exit within " + bound.toSeconds() + " s");
        }
        return process.exitValue();
    }

    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroy();  // SIGTERM: the graceful shutdown operators get from systemd
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
