package org.mefgateway.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * {@code ops/bench e2e}: the whole gateway under load, measured in one run on a fresh SoftHSM2
 * token. Everything happens in this order, on the same two cores:
 * <ol>
 * <li>a fresh token, configuration, policy and {@code mefgate init} (separate process);</li>
 * <li>raw SunPKCS11 SHA256withECDSA signatures/s with the CA key on that token, 1 and 2 threads,
 *     in this JVM, before the gateway starts (nothing else of ours runs);</li>
 * <li>the gateway as its own process ({@code java -jar gateway-cli.jar serve}), so its RSS is its own;</li>
 * <li>{@code POOL} Enrolees registered through the admin API with bootstrap certificates made in advance;</li>
 * <li>warm-up, then closed-loop sweeps and open-loop phases, all against that one gateway.</li>
 * </ol>
 * One <b>enrolment</b> is: GET /.well-known/est/csrattrs (the gateway issues and stores a
 * single-use challenge), building and signing a P-256 PKCS#10 CSR with that challengePassword
 * (Bouncy Castle; the key pair comes from a pool generated in advance), POST
 * /.well-known/est/simpleenroll (parse, policy, challenge claim, HSM signature, durable ledger
 * write) and reading the certificate. Its latency is from the first byte of csrattrs to the last
 * byte of the certificate. Between two enrolments of the same bootstrap credential the load
 * generator re-instructs the Enrolee as an operator would (POST /admin/enrolees/{id}/instruct on
 * the admin listener, one update + one audit event): it is gateway work counted in the
 * throughput, not in the latency.
 */
public final class E2eBench {
    private static final Pattern SLOT = Pattern.compile("reassigned to slot (\\d+)");
    private static final String HOST = "127.0.0.1";

    private final Path run = Path.of(System.getProperty("bench.run", "target/bench/run")).toAbsolutePath();
    private final Path out = Path.of(System.getProperty("bench.out", "target/bench")).toAbsolutePath();
    private final Path jar = Path.of(System.getProperty("bench.jar", "gateway/target/gateway-0.1.0-SNAPSHOT-cli.jar")).toAbsolutePath();
    private final int pool = Integer.getInteger("bench.pool", 512);
    private final int perConnection = Integer.getInteger("bench.perConnection", 20);
    private final int warmupSeconds = Integer.getInteger("bench.warmupSeconds", 20);
    private final int stepSeconds = Integer.getInteger("bench.stepSeconds", 8);
    private final int openSeconds = Integer.getInteger("bench.openSeconds", 12);
    private final List<Integer> sweep = ints(System.getProperty("bench.sweep", "1,2,4,8,16,32,64"));
    private final List<Integer> newTlsClients = ints(System.getProperty("bench.newTlsClients", "8,32"));
    private final String gatewayOpts = System.getProperty("bench.gatewayOpts", "");

    private final LinkedBlockingQueue<Enrolee> enrolees = new LinkedBlockingQueue<>();
    private final List<KeyPair> keys = new ArrayList<>();
    private final AtomicInteger nextKey = new AtomicInteger();
    private final ThreadLocal<Http> adminConnection = new ThreadLocal<>();
    private final List<String> report = new ArrayList<>();
    private SSLContext adminTls;
    private TrustManagerFactory trust;
    private int estPort;
    private int adminPort;
    private Process gateway;
    private volatile String rssPhase = "start";
    private double readySeconds;
    private final Map<String, Long> rssMax = Collections.synchronizedMap(new LinkedHashMap<>());

    /** A registered Enrolee: its bootstrap credential and whether it needs a new instruction before it enrols again. */
    private static final class Enrolee {
        final Material.Device device;
        final SSLContext keepAliveTls;
        boolean mustInstruct;

        Enrolee(Material.Device device, SSLContext tls) {
            this.device = device;
            this.keepAliveTls = tls;
        }
    }

    public static void main(String[] args) throws Exception {
        E2eBench bench = new E2eBench();
        try {
            if ("gatling".equals(System.getProperty("bench.mode"))) {
                bench.serveForGatling();
            } else {
                bench.run();
            }
        } finally {
            bench.stopGateway();
        }
        System.exit(0);
    }

    private void run() throws Exception {
        Files.createDirectories(out);
        String pin = token();
        Path configFile = configure(pin);
        exec(List.of(java(), "-jar", jar.toString(), "--config", configFile.toString(), "init"), run.resolve("init.log"));

        say("raw signing: SunPKCS11 SHA256withECDSA with the CA key on the token, before the gateway starts");
        double sign1 = rawSign(pin, 1);
        double sign2 = rawSign(pin, 2);
        double rawSign = Math.max(sign1, sign2);
        say(String.format(Locale.ROOT, "  1 thread %.0f/s, 2 threads %.0f/s", sign1, sign2));

        startGateway(configFile);
        Thread sampler = new Thread(this::sampleRss, "rss-sampler");
        sampler.setDaemon(true);
        sampler.start();
        prepare();
        String verifyProvider = ready("csr_verify_provider");
        String tlsEngine = ready("tls_engine");
        say("TLS: gateway " + tlsEngine + ", load generator " + Http.tlsProvider());

        rssPhase = "warm-up";
        closed("warm-up", 16, warmupSeconds, false);

        List<Stats> keepAlive = new ArrayList<>();
        Stats peak = null;
        int peakClients = 0;
        for (int c : sweep) {
            rssPhase = "sweep-" + c;
            Stats s = closed("keep-alive c=" + c, c, stepSeconds, false);
            keepAlive.add(s);
            if (peak == null || s.perSecond() > peak.perSecond()) {
                peak = s;
                peakClients = c;
            }
        }
        // The peak again, on its own, for RSS (and VmHWM right after it).
        rssPhase = "peak";
        Costs costsBefore = costs();
        Stats peakRun = closed("keep-alive peak c=" + peakClients, peakClients, stepSeconds + 2, false);
        Costs perEnrol = costs().minus(costsBefore).perIssued();
        say(String.format(Locale.ROOT, "  per enrolment at the peak: %.2f statements, %.2f worker dispatches, %.1f KiB allocated",
                perEnrol.statements(), perEnrol.dispatches(), perEnrol.allocatedBytes() / 1024));
        long hwmPeak = status("VmHWM");
        long rssPeak = rssMax.getOrDefault("peak", 0L);
        double keepAlivePeak = Math.max(peak.perSecond(), peakRun.perSecond());

        // A short JFR recording of the gateway at the same load, separately so the peak is not taxed by it.
        rssPhase = "profile";
        Path jfr = run.resolve("gateway-keepalive.jfr");
        jcmd("JFR.start", "name=mefbench", "settings=profile", "filename=" + jfr);
        Stats profiled = closed("keep-alive profiled c=" + peakClients, peakClients, stepSeconds, false);
        jcmd("JFR.stop", "name=mefbench");

        Stats newTls = null;
        int newTlsC = 0;
        List<Stats> newTlsRuns = new ArrayList<>();
        for (int c : newTlsClients) {
            rssPhase = "newtls-" + c;
            Stats s = closed("new TLS c=" + c, c, stepSeconds, true);
            newTlsRuns.add(s);
            if (newTls == null || s.perSecond() > newTls.perSecond()) {
                newTls = s;
                newTlsC = c;
            }
        }

        rssPhase = "half";
        double halfRate = keepAlivePeak / 2;
        Tail tailBefore = tail();
        Stats half = open("open loop half of peak", halfRate, openSeconds, 64);
        Tail tail = tail().since(tailBefore);
        say("  " + tail.describe());

        rssPhase = "overload";
        double overloadRate = keepAlivePeak * 3;
        Stats overload = open("open loop 3x peak", overloadRate, openSeconds, 256);
        rssPhase = "after";
        boolean alive = gateway.isAlive();
        Stats after = closed("after overload c=4", 4, 3, false);
        long hwmEnd = status("VmHWM");

        // ---- report ----------------------------------------------------------------------------------
        List<String> t = new ArrayList<>();
        t.add(String.format(Locale.ROOT, "%-58s %10s %9s", "measure", "value", "/raw sign"));
        t.add(row("raw SunPKCS11 ECDSA P-256 signatures/s (best of 1, 2 thr)", rawSign, rawSign));
        t.add(row("enrolments/s keep-alive (peak, " + peakClients + " clients)", keepAlivePeak, rawSign));
        t.add(row("enrolments/s new TLS per enrolment (" + newTlsC + " clients)", newTls.perSecond(), rawSign));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "p50 / p99 ms at half of peak (" + Math.round(halfRate) + "/s open loop)",
                String.format(Locale.ROOT, "%.1f / %.1f", half.percentileMs(50), half.percentileMs(99))));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "  of which the gateway's: request / store commit / HSM p99 ms",
                String.format(Locale.ROOT, "%.1f / %.1f / %.2f", tail.requestP99Ms(), tail.commitP99Ms(), tail.signP99Ms())));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "  GC pauses in that step: count / total ms / longest ms",
                String.format(Locale.ROOT, "%d / %.0f / %.1f", tail.gcPauses(), tail.gcPauseMs(), tail.gcPauseMaxMs())));
        t.add(String.format(Locale.ROOT, "%-58s %10.0f", "gateway RSS MiB at peak (VmHWM)", hwmPeak / 1024.0));
        t.add(String.format(Locale.ROOT, "%-58s %10.2f", "gateway ready s after its process started (/health/ready 200)", readySeconds));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "gateway CPU ms per enrolment, keep-alive peak / new TLS",
                String.format(Locale.ROOT, "%.3f / %.3f", peakRun.gatewayCpuMsPerEnrol(), newTls.gatewayCpuMsPerEnrol())));
        t.add(String.format(Locale.ROOT, "%-58s %10.2f", "load generator's share of the CPU at the keep-alive peak", peakRun.loadgenCpuShare()));
        t.add(String.format(Locale.ROOT, "%-58s %10.2f", "overload goodput: issued/s at 3x peak / peak", overload.perSecond() / keepAlivePeak));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "overload: offered / issued per s (3x peak, open loop)",
                String.format(Locale.ROOT, "%.0f / %.0f", overloadRate, overload.perSecond())));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "overload: 503 (with Retry-After) / other failures",
                overload.failed(503) + " (" + overload.retryAfterOn503.sum() + ") / " + (overload.failedTotal() - overload.failed(503))));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "overload: gateway CPU ms per issued certificate, 3x / peak",
                String.format(Locale.ROOT, "%.3f / %.3f", overload.gatewayCpuMsPerEnrol(), peakRun.gatewayCpuMsPerEnrol())));
        // On 2 shared cores, what the load generator spends offering 3x is taken from the gateway.
        t.add(String.format(Locale.ROOT, "%-58s %10s", "overload: load generator's CPU share, 3x / peak",
                String.format(Locale.ROOT, "%.2f / %.2f", overload.loadgenCpuShare(), peakRun.loadgenCpuShare())));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "overload: admitted p99 ms, service / incl. client queue",
                String.format(Locale.ROOT, "%.0f / %.0f", overload.servicePercentileMs(99), overload.percentileMs(99))));
        t.add(String.format(Locale.ROOT, "%-58s %10s", "gateway up after overload, then issuing (4 clients)",
                (alive && gateway.isAlive() ? "yes" : "NO") + String.format(Locale.ROOT, " %.0f/s", after.perSecond())));
        t.add("");
        t.add(String.format(Locale.ROOT, "%-9s %12s %9s %9s %10s  %s", "clients", "enrol/s", "/raw", "p50 ms", "p99 ms", "failures"));
        for (Stats s : keepAlive) {
            t.add(String.format(Locale.ROOT, "%-9s %12.0f %9.2f %9.1f %10.1f  %s", s.name.replace("keep-alive c=", ""), s.perSecond(),
                    s.perSecond() / rawSign, s.percentileMs(50), s.percentileMs(99), s.failureText()));
        }
        for (Stats s : newTlsRuns) {
            t.add(String.format(Locale.ROOT, "%-9s %12.0f %9.2f %9.1f %10.1f  %s", s.name.replace("new TLS c=", "") + " newTLS",
                    s.perSecond(), s.perSecond() / rawSign, s.percentileMs(50), s.percentileMs(99), s.failureText()));
        }
        t.add("");
        t.add(String.format(Locale.ROOT, "%d cores, Java %s (load generator) ; gateway: java %s-jar gateway-cli.jar serve, H2, signer threads 2 ; "
                        + "load generator in the same machine (2 cores shared) ; %d Enrolees, %d enrolments per keep-alive connection ; "
                        + "load average before start %s", Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                gatewayOpts.isBlank() ? "" : gatewayOpts + " ", pool, perConnection, loadAverageAtStart));
        String table = String.join("\n", t) + "\n";
        System.out.println();
        System.out.print(table);
        Files.writeString(out.resolve("e2e.txt"), table);

        StringBuilder sweepJson = new StringBuilder();
        for (Stats s : keepAlive) {
            sweepJson.append(sweepJson.length() == 0 ? "" : ",\n    ").append(String.format(Locale.ROOT,
                    "{\"clients\": %s, \"enrol_per_s\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"failures\": %d}",
                    s.name.replace("keep-alive c=", ""), s.perSecond(), s.percentileMs(50), s.percentileMs(99), s.failedTotal()));
        }
        StringBuilder newTlsJson = new StringBuilder();
        for (Stats s : newTlsRuns) {
            newTlsJson.append(newTlsJson.length() == 0 ? "" : ",\n    ").append(String.format(Locale.ROOT,
                    "{\"clients\": %s, \"enrol_per_s\": %.1f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"failures\": %d}",
                    s.name.replace("new TLS c=", ""), s.perSecond(), s.percentileMs(50), s.percentileMs(99), s.failedTotal()));
        }
        String json = String.format(Locale.ROOT, String.join("\n",
                        "{",
                        "  \"raw_sign_per_s\": %.1f,",
                        "  \"raw_sign_per_s_1_thread\": %.1f,",
                        "  \"raw_sign_per_s_2_threads\": %.1f,",
                        "  \"enrol_keepalive_per_s\": %.1f,",
                        "  \"enrol_keepalive_clients\": %d,",
                        "  \"enrol_newtls_per_s\": %.1f,",
                        "  \"enrol_newtls_clients\": %d,",
                        "  \"half_peak_rate_per_s\": %.1f,",
                        "  \"half_peak_achieved_per_s\": %.1f,",
                        "  \"p50_ms\": %.2f,",
                        "  \"p99_ms\": %.2f,",
                        "  \"tail\": {\"gateway_request_p99_ms\": %.2f, \"store_commit_p99_ms\": %.2f, \"hsm_sign_p99_ms\": %.3f, "
                                + "\"gc_pauses\": %d, \"gc_pause_total_ms\": %.1f, \"gc_pause_max_ms\": %.1f},",
                        "  \"rss_mib_peak\": %.1f,",
                        "  \"rss_mib_sampled_peak\": %.1f,",
                        "  \"rss_mib_hwm_end\": %.1f,",
                        "  \"ready_seconds\": %.2f,",
                        "  \"gateway_cpu_ms_per_enrol_keepalive\": %.3f,",
                        "  \"gateway_cpu_ms_per_enrol_newtls\": %.3f,",
                        "  \"loadgen_cpu_share\": %.3f,",
                        "  \"overload_goodput_ratio\": %.3f,",
                        "  \"store_statements_per_enrol\": %.2f,",
                        "  \"worker_dispatches_per_enrol\": %.2f,",
                        "  \"allocated_kib_per_enrol\": %.1f,",
                        "  \"ratio_keepalive_to_raw\": %.3f,",
                        "  \"ratio_newtls_to_raw\": %.3f,",
                        "  \"overload\": {\"offered_per_s\": %.1f, \"issued_per_s\": %.1f, \"status_503\": %d, \"status_503_with_retry_after\": %d, "
                                + "\"other_failures\": %d, \"gateway_cpu_ms_per_issued\": %.3f, \"loadgen_cpu_share\": %.3f, \"admitted_p99_service_ms\": %.1f, \"admitted_p99_incl_client_queue_ms\": %.1f, "
                                + "\"gateway_alive\": %s, \"issuing_after_per_s\": %.1f},",
                        "  \"profiled_keepalive_per_s\": %.1f,",
                        "  \"sweep_keepalive\": [",
                        "    %s",
                        "  ],",
                        "  \"sweep_newtls\": [",
                        "    %s",
                        "  ],",
                        "  \"cores\": %d,",
                        "  \"java\": \"%s\",",
                        "  \"verify_provider\": \"%s\",",
                        "  \"tls_engine\": \"%s\",",
                        "  \"load_average_at_start\": \"%s\",",
                        "  \"enrolees\": %d,",
                        "  \"enrolments_per_keepalive_connection\": %d",
                        "}", ""),
                rawSign, sign1, sign2, keepAlivePeak, peakClients, newTls.perSecond(), newTlsC, halfRate, half.perSecond(),
                half.percentileMs(50), half.percentileMs(99),
                tail.requestP99Ms(), tail.commitP99Ms(), tail.signP99Ms(), tail.gcPauses(), tail.gcPauseMs(), tail.gcPauseMaxMs(),
                hwmPeak / 1024.0, rssPeak / 1024.0, hwmEnd / 1024.0, readySeconds,
                peakRun.gatewayCpuMsPerEnrol(), newTls.gatewayCpuMsPerEnrol(), peakRun.loadgenCpuShare(), overload.perSecond() / keepAlivePeak,
                perEnrol.statements(), perEnrol.dispatches(), perEnrol.allocatedBytes() / 1024,
                keepAlivePeak / rawSign, newTls.perSecond() / rawSign,
                overloadRate, overload.perSecond(), overload.failed(503), overload.retryAfterOn503.sum(),
                overload.failedTotal() - overload.failed(503), overload.gatewayCpuMsPerEnrol(), overload.loadgenCpuShare(), overload.servicePercentileMs(99),
                overload.percentileMs(99),
                alive && gateway.isAlive(), after.perSecond(), profiled.perSecond(), sweepJson, newTlsJson,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), verifyProvider, tlsEngine, loadAverageAtStart, pool, perConnection);
        Files.writeString(out.resolve("e2e.json"), json);
        Files.writeString(out.resolve("e2e-sweep.svg"), Svg.sweep(keepAlive, newTlsRuns, rawSign));
        stopGateway();
        if (Files.exists(jfr)) {
            String profile = Profile.summary(jfr);
            Files.writeString(out.resolve("e2e-profile.txt"), profile);
            System.out.println();
            System.out.print(profile);
        }
        System.out.println();
        System.out.println("wrote " + out.resolve("e2e.json") + ", " + out.resolve("e2e.txt") + ", " + out.resolve("e2e-sweep.svg")
                + ", " + out.resolve("e2e-profile.txt") + " (gateway log " + run.resolve("gateway.log") + ")");
    }

    /**
     * For ops/gatling/run: the same fresh token, configuration and gateway process, {@code pool}
     * Enrolees registered, and per Enrolee (numbered 0..pool-1) its bootstrap credential
     * (user-N.p12, password "bench"), AE-ID (user-N.id) and a CSR built in advance without a
     * challenge for the profile tput (user-N.csr); then {@code ready} holds the EST base URL and
     * the gateway serves until a file {@code stop} appears in the credentials directory.
     */
    private void serveForGatling() throws Exception {
        Path dir = Files.createDirectories(Path.of(System.getProperty("bench.credentials", "target/gatling-credentials")));
        String pin = token();
        Path configFile = configure(pin);
        exec(List.of(java(), "-jar", jar.toString(), "--config", configFile.toString(), "init"), run.resolve("init.log"));
        startGateway(configFile);
        prepare();
        for (Enrolee e : enrolees) {
            String n = e.device.id().replace("bench-", "").replaceFirst("^0+(?=.)", "");
            Files.write(dir.resolve("user-" + n + ".p12"), e.device.p12());
            Files.writeString(dir.resolve("user-" + n + ".id"), e.device.aeId() + "\n");
            Files.writeString(dir.resolve("user-" + n + ".csr"),
                    Base64.getEncoder().encodeToString(Material.csr(e.device.aeId(), null, Material.p256())) + "\n");
        }
        Files.writeString(dir.resolve("ready"), "https://" + HOST + ":" + estPort + "\n");
        say("ready: " + pool + " credentials in " + dir + "; EST https://" + HOST + ":" + estPort + "; waiting for " + dir.resolve("stop"));
        while (!Files.exists(dir.resolve("stop")) && gateway.isAlive()) {
            Thread.sleep(200);
        }
        Files.copy(run.resolve("gateway.log"), dir.resolve("gateway.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static String row(String name, double value, double raw) {
        return String.format(Locale.ROOT, "%-58s %10.0f %9.2f", name, value, value / raw);
    }

    // ---- set-up ---------------------------------------------------------------------------------------

    private final String loadAverageAtStart = loadAverage();

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private long slot;

    /** A fresh token in its own directory; SOFTHSM2_CONF (set by ops/bench.d/e2e) names the file written here. */
    private String token() throws Exception {
        Path conf = Path.of(System.getenv("SOFTHSM2_CONF"));
        if (!conf.toAbsolutePath().startsWith(run)) {
            throw new IllegalStateException("SOFTHSM2_CONF must be under " + run + ", is " + conf);
        }
        Files.createDirectories(run.resolve("tokens"));
        Files.writeString(conf, "directories.tokendir = " + run.resolve("tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\n"
                + "slots.removable = false\n");
        String pin = randomHex(16);
        Path pinFile = run.resolve("user.pin");
        Files.deleteIfExists(pinFile);
        Files.createFile(pinFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(pinFile, pin);
        String init = exec(List.of("softhsm2-util", "--init-token", "--free", "--label", "mef-bench", "--so-pin", randomHex(16),
                "--pin", pin), run.resolve("token.log"));
        Matcher m = SLOT.matcher(init);
        if (!m.find()) {
            throw new IllegalStateException("softhsm2-util did not say the slot: " + init);
        }
        slot = Long.parseLong(m.group(1));
        return pin;
    }

    private Path configure(String pin) throws Exception {
        Path data = run.resolve("var");
        Path trust = Files.createDirectories(data.resolve("bootstrap-trust"));
        Path policies = Files.createDirectories(run.resolve("policies"));
        // The bench profile: the oneM2M default with the per-Enrolee rate limit off (every
        // bootstrap credential here enrols many times) and a short validity.
        Files.writeString(policies.resolve("default.yaml"), String.join("\n",
                "description: ops/bench e2e - the oneM2M default, rate limit off",
                "validity: {days: 7}",
                "challenge: {lifetimeSeconds: 300}",
                "rateLimit: {maxIssuancesPerDay: 0}", ""));
        // For Gatling's throughput scenario: CSRs built in advance cannot carry a fresh challenge.
        Files.writeString(policies.resolve("tput.yaml"), String.join("\n",
                "description: load tests only - CSRs built in advance, so no challenge; rate limit off",
                "validity: {days: 7}",
                "challenge: {required: false}",
                "rateLimit: {maxIssuancesPerDay: 0}", ""));
        maker = Material.maker();
        Files.writeString(trust.resolve("bench-maker.pem"), Material.pem(maker.certificate()));
        Path config = run.resolve("mefgate.yaml");
        Files.writeString(config, String.join("\n",
                "# ops/bench e2e: written by the benchmark, fresh for every run",
                "dataDir: " + data,
                // Every bench client comes from one address: the per-client rate limit (20/s by
                // default) would measure itself. The in-flight bound keeps its default (64).
                "est: {host: " + HOST + ", port: 0, bootstrapTrustDir: " + trust + ", rateLimit: {perClientPerSecond: 0}}",
                "admin: {host: " + HOST + ", port: 0}",
                "publication: {host: " + HOST + ", port: 0}",
                "hsm: {library: /usr/lib/softhsm/libsofthsm2.so, tokenLabel: mef-bench, keyLabel: ca-p256, pinFile: " + run.resolve("user.pin") + "}",
                "ca: {subject: 'CN=MEF Bench Root CA,O=MEF Gateway Bench', validityDays: 365}",
                "policyDir: " + policies, ""));
        return config;
    }

    private Material.Maker maker;

    /** SHA256withECDSA signatures per second with the CA key, {@code threads} threads each with its own Signature. */
    private double rawSign(String pin, int threads) throws Exception {
        Provider p = provider(pin);
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, pin.toCharArray());
        PrivateKey key = (PrivateKey) ks.getKey("ca-p256", null);
        if (key == null) {
            for (String alias : Collections.list(ks.aliases())) {
                if (ks.isKeyEntry(alias)) {
                    key = (PrivateKey) ks.getKey(alias, null);
                }
            }
        }
        byte[] tbs = new byte[400];  // about a TBSCertificate
        new SecureRandom().nextBytes(tbs);
        PrivateKey k = key;
        double best = 0;
        for (int round = 0; round < 2; round++) {  // the first round warms up
            AtomicLong count = new AtomicLong();
            long end = System.nanoTime() + 3_000_000_000L;
            long start = System.nanoTime();
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Thread th = new Thread(() -> {
                    try {
                        Signature s = Signature.getInstance("SHA256withECDSA", p);
                        s.initSign(k);
                        while (System.nanoTime() < end) {
                            s.update(tbs);
                            s.sign();
                            count.incrementAndGet();
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) {
                th.join();
            }
            best = count.get() / ((System.nanoTime() - start) / 1e9);
        }
        return best;
    }

    private Provider pkcs11;

    private synchronized Provider provider(String pin) {
        if (pkcs11 == null) {
            pkcs11 = Security.getProvider("SunPKCS11").configure("--name = MEFBENCH\nlibrary = /usr/lib/softhsm/libsofthsm2.so\nslot = " + slot + "\n");
        }
        return pkcs11;
    }

    private void startGateway(Path configFile) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java()));
        for (String o : gatewayOpts.split("\\s+")) {
            if (!o.isBlank()) {
                cmd.add(o);
            }
        }
        cmd.addAll(List.of("-jar", jar.toString(), "--config", configFile.toString(), "serve"));
        Path ports = run.resolve("var/run/ports");
        Files.deleteIfExists(ports);
        clientTls();
        long started = System.nanoTime();
        gateway = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(run.resolve("gateway.log").toFile()).start();
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!gateway.isAlive()) {
                throw new IllegalStateException("the gateway exited: " + Files.readString(run.resolve("gateway.log")));
            }
            if (Files.exists(ports)) {
                Map<String, Integer> found = new LinkedHashMap<>();
                for (String line : Files.readAllLines(ports)) {
                    String[] kv = line.split("=", 2);
                    if (kv.length == 2) {
                        found.put(kv[0], Integer.parseInt(kv[1].strip()));
                    }
                }
                if (found.containsKey("publication") && ready(found.get("admin"))) {
                    readySeconds = (System.nanoTime() - started) / 1e9;
                    estPort = found.get("est");
                    adminPort = found.get("admin");
                    say(String.format(Locale.ROOT, "gateway ready %.2f s after its process started", readySeconds));
                    say("gateway pid " + gateway.pid() + ": EST " + estPort + ", admin " + adminPort + " (" + String.join(" ", cmd) + ")");
                    return;
                }
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("the gateway did not start within 90 s");
    }

    /** Whether /health/ready answers 200 (a new connection each time, as a load balancer's check). */
    private boolean ready(int port) {
        try (Http h = Http.connect(adminTls, HOST, port)) {
            return h.get("/health/ready").status() == 200;
        } catch (IOException notYet) {
            return false;
        }
    }

    private void stopGateway() throws InterruptedException {
        if (gateway != null && gateway.isAlive()) {
            gateway.destroy();
            if (!gateway.waitFor(30, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        }
    }

    /** Operator TLS, bootstrap credentials, registrations and the pool of Enrolee keys. */
    /** The CA that init made, and the operator's credential, for TLS to the gateway. */
    private void clientTls() throws Exception {
        Path data = run.resolve("var");
        X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(data.resolve("ca/ca.pem")));
        KeyStore anchors = KeyStore.getInstance("PKCS12");
        anchors.load(null, null);
        anchors.setCertificateEntry("mef-ca", ca);
        trust = Http.trustManagerFactory();
        trust.init(anchors);
        char[] operatorPassword = Files.readString(data.resolve("admin/operator.pass")).strip().toCharArray();
        adminTls = Http.tlsContext();
        adminTls.init(Material.keyManagers(Material.load(Files.readAllBytes(data.resolve("admin/operator.p12")), operatorPassword),
                operatorPassword), trust.getTrustManagers(), null);
    }

    private void prepare() throws Exception {
        long t0 = System.nanoTime();
        ExecutorService workers = Executors.newFixedThreadPool(4);
        List<Future<Enrolee>> made = new ArrayList<>();
        for (int i = 0; i < pool; i++) {
            String id = String.format(Locale.ROOT, "bench-%05d", i);
            made.add(workers.submit(() -> {
                Material.Device d = Material.device(maker, id, "//m2m.example.com/CSE1/" + id);
                SSLContext tls = Http.tlsContext();
                tls.init(d.keyManagers(), trust.getTrustManagers(), null);
                String json = "{\"id\":\"" + id + "\",\"bootstrapCertificate\":\"" + Material.pem(d.certificate()).replace("\r", "").replace("\n", "\\n")
                        + "\",\"certSubjectType\":\"AE-ID\",\"certSubjectID\":\"" + d.aeId() + "\",\"suids\":[40]"
                        + ",\"profiles\":[\"default\",\"tput\"]}";
                Http.Response r = admin().post("/admin/enrolees", "application/json", json.getBytes(StandardCharsets.UTF_8));
                if (r.status() != 201) {
                    throw new IllegalStateException("registration of " + id + " refused: " + r.status() + " " + r.text());
                }
                return new Enrolee(d, tls);
            }));
        }
        for (int i = 0; i < 256; i++) {
            keys.add(Material.p256());
        }
        for (Future<Enrolee> f : made) {
            enrolees.add(f.get());
        }
        workers.shutdown();
        say(String.format(Locale.ROOT, "%d Enrolees registered (bootstrap certificates made here) and 256 Enrolee key pairs in %.1f s",
                pool, (System.nanoTime() - t0) / 1e9));
    }

    // ---- the load ---------------------------------------------------------------------------------------

    /** The operator's keep-alive connection of the calling thread. */
    private Http admin() throws IOException {
        Http h = adminConnection.get();
        if (h == null || !h.isOpen()) {
            h = Http.connect(adminTls, HOST, adminPort);
            adminConnection.set(h);
        }
        return h;
    }

    /**
     * The gateway's running totals of what enrolments cost, from its /metrics: statements sent to
     * the database; hops to worker pools (tasks run on mef-cpu and mef-store, HSM signatures, writes
     * handed to the ledger's group commit); bytes allocated (Micrometer's count, updated at each
     * GC); certificates issued, to divide by. Everything the gateway did meanwhile counts (the
     * operator's instruct and csrattrs of each enrolment too).
     */
    private record Costs(double statements, double dispatches, double allocatedBytes, double issued) {
        Costs minus(Costs o) {
            return new Costs(statements - o.statements, dispatches - o.dispatches, allocatedBytes - o.allocatedBytes, issued - o.issued);
        }

        Costs perIssued() {
            return new Costs(statements / issued, dispatches / issued, allocatedBytes / issued, 1);
        }
    }

    /** One line of the gateway's Prometheus text: the metric's name, the whole line (for its labels), the value. */
    private record Sample(String name, String line, double value) {
    }

    private List<Sample> samples() throws IOException {
        List<Sample> samples = new ArrayList<>();
        for (String line : admin().get("/metrics").text().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                samples.add(new Sample(line.substring(0, line.indexOf(line.contains("{") ? '{' : ' ')), line,
                        Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))));
            }
        }
        return samples;
    }

    private Costs costs() throws IOException {
        double statements = 0, dispatches = 0, allocated = 0, issued = 0;
        for (Sample sample : samples()) {
            String name = sample.name(), line = sample.line();
            double value = sample.value();
            switch (name) {
                case "mef_store_statements_total" -> statements += value;
                case "vertx_pool_completed_total" -> dispatches += line.contains("pool_name=\"mef-cpu\"")
                        || line.contains("pool_name=\"mef-store\"") ? value : 0;
                case "mef_hsm_sign_seconds_count", "mef_store_commit_batch_size_sum" -> dispatches += value;
                case "jvm_gc_memory_allocated_bytes_total" -> allocated += value;
                case "mef_certificates_issued_total" -> issued += value;
                default -> {
                }
            }
        }
        return new Costs(statements, dispatches, allocated, issued);
    }

    /**
     * Where the tail of an open-loop step comes from, seen from inside the gateway: its own
     * histograms (EST request time from head to answer, group commit to durable, HSM signature),
     * their bucket counts before and after the step, so a p99 is the step's alone; and the GC
     * pauses of the step (the longest is Micrometer's max, over its last two minutes). A client p99 far above the gateway's request p99 is queueing outside
     * the gateway's timers (the accept queue, the event loop, the load generator itself).
     */
    private record Tail(Map<String, TreeMap<Double, Double>> buckets, double gcCount, double gcSeconds, double gcMaxSeconds) {
        Tail since(Tail before) {
            Map<String, TreeMap<Double, Double>> delta = new HashMap<>();
            buckets.forEach((name, now) -> {
                TreeMap<Double, Double> d = new TreeMap<>();
                now.forEach((le, v) -> d.put(le, v - before.buckets.getOrDefault(name, new TreeMap<>()).getOrDefault(le, 0.0)));
                delta.put(name, d);
            });
            return new Tail(delta, gcCount - before.gcCount, gcSeconds - before.gcSeconds, gcMaxSeconds);
        }

        /** The upper bound of the bucket holding the 99th percentile, in ms (Prometheus buckets are cumulative). */
        double p99Ms(String name) {
            TreeMap<Double, Double> b = buckets.getOrDefault(name, new TreeMap<>());
            double total = b.isEmpty() ? 0 : b.lastEntry().getValue();
            for (Map.Entry<Double, Double> e : b.entrySet()) {
                if (total > 0 && e.getValue() >= 0.99 * total) {
                    return e.getKey() * 1000;
                }
            }
            return Double.NaN;
        }

        double requestP99Ms() {
            return p99Ms("mef_est_request_seconds_bucket");
        }

        double commitP99Ms() {
            return p99Ms("mef_store_commit_seconds_bucket");
        }

        double signP99Ms() {
            return p99Ms("mef_hsm_sign_seconds_bucket");
        }

        int gcPauses() {
            return (int) gcCount;
        }

        double gcPauseMs() {
            return gcSeconds * 1000;
        }

        double gcPauseMaxMs() {
            return gcMaxSeconds * 1000;
        }

        String describe() {
            return String.format(Locale.ROOT, "inside the gateway: request p99 %.1f ms, store commit p99 %.1f ms, HSM p99 %.2f ms; "
                    + "GC %d pauses, %.0f ms in all, longest %.1f ms", requestP99Ms(), commitP99Ms(), signP99Ms(), gcPauses(), gcPauseMs(),
                    gcPauseMaxMs());
        }
    }

    private Tail tail() throws IOException {
        Map<String, TreeMap<Double, Double>> buckets = new HashMap<>();
        double gcCount = 0, gcSeconds = 0, gcMax = 0;
        for (Sample sample : samples()) {
            String name = sample.name(), line = sample.line();
            double value = sample.value();
            switch (name) {
                case "mef_est_request_seconds_bucket", "mef_store_commit_seconds_bucket", "mef_hsm_sign_seconds_bucket" -> {
                    String le = line.substring(line.indexOf("le=\"") + 4, line.indexOf('"', line.indexOf("le=\"") + 4));
                    buckets.computeIfAbsent(name, k -> new TreeMap<>())
                            .merge(le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le), value, Double::sum);
                }
                case "jvm_gc_pause_seconds_count" -> gcCount += value;
                case "jvm_gc_pause_seconds_sum" -> gcSeconds += value;
                case "jvm_gc_pause_seconds_max" -> gcMax = Math.max(gcMax, value);
                default -> {
                }
            }
        }
        return new Tail(buckets, gcCount, gcSeconds, gcMax);
    }

    /** What the gateway reports on /health/ready under {@code key} (the CSR verification provider, the TLS engine), not assumed. */
    private String ready(String key) throws IOException {
        return new io.vertx.core.json.JsonObject(admin().get("/health/ready").text()).getString(key);
    }

    private void instruct(Enrolee e) throws IOException {
        if (!e.mustInstruct) {
            return;
        }
        Http.Response r;
        try {
            r = admin().post("/admin/enrolees/" + e.device.id() + "/instruct", "application/json", "{}".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException ex) {
            adminConnection.remove();
            throw ex;
        }
        if (r.status() != 200) {
            throw new IOException("instruct " + e.device.id() + ": " + r.status() + " " + r.text());
        }
        e.mustInstruct = false;
    }

    private Enrolee freeEnrolee() throws Exception {
        Enrolee e = enrolees.poll(30, TimeUnit.SECONDS);
        if (e == null) {
            throw new IOException("no free Enrolee for 30 s (BENCH_POOL too small for the number of clients?)");
        }
        return e;
    }

    /** A device's keep-alive connection, used for {@code perConnection} enrolments, then handed to the next device. */
    private final class Session {
        Enrolee enrolee;
        Http http;
        int used;

        Http ready() throws Exception {
            if (http == null || !http.isOpen() || used >= perConnection) {
                release();
                enrolee = freeEnrolee();
                http = Http.connect(enrolee.keepAliveTls, HOST, estPort);
                used = 0;
            }
            instruct(enrolee);
            return http;
        }

        void release() {
            if (http != null) {
                http.close();
                http = null;
            }
            if (enrolee != null) {
                enrolees.add(enrolee);
                enrolee = null;
            }
        }
    }

    /**
     * One enrolment (csrattrs, CSR, simpleenroll). Returns 200 when a certificate came back, else the
     * first status that was not 200 (-1: connection failure). {@code scheduled} is when it should have
     * started (open loop), or 0 (closed loop: now).
     */
    private int enrol(Session session, boolean newTls, Stats stats, long scheduled, long deadline) {
        Enrolee e = null;
        Http http = null;
        try {
            if (newTls) {
                e = freeEnrolee();
                instruct(e);
            } else {
                http = session.ready();
                e = session.enrolee;
            }
            long start = System.nanoTime();
            if (newTls) {
                // A fresh SSLContext per enrolment: its own session cache, so no TLS session
                // resumption; the full handshake (ECDHE + both certificate signatures) every time.
                SSLContext tls = Http.tlsContext();
                tls.init(e.device.keyManagers(), trust.getTrustManagers(), null);
                http = Http.connect(tls, HOST, estPort);
            }
            int status;
            try {
                Http.Response attrs = http.get("/.well-known/est/csrattrs");
                if (attrs.status() != 200) {
                    status = attrs.status();
                    if (deadline == 0 || System.nanoTime() <= deadline) {
                        stats.failed(status, attrs.retryAfter() != null);
                    }
                    return status;
                }
                KeyPair kp = keys.get(Math.floorMod(nextKey.getAndIncrement(), keys.size()));
                byte[] csr = Material.csr(e.device.aeId(), Material.challengeFrom(attrs.body()), kp);
                Http.Response cert = http.post("/.well-known/est/simpleenroll", "application/pkcs10",
                        Base64.getMimeEncoder().encode(csr));
                long end = System.nanoTime();
                status = cert.status();
                if (session != null) {
                    session.used++;
                }
                if (status == 200) {
                    e.mustInstruct = true;
                    if (deadline == 0 || end <= deadline) {
                        stats.ok(end - (scheduled == 0 ? start : scheduled), end - start);
                    }
                } else if (deadline == 0 || end <= deadline) {
                    stats.failed(status, cert.retryAfter() != null);
                }
                return status;
            } finally {
                if (newTls) {
                    http.close();
                }
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return -1;
        } catch (Exception ex) {
            if (deadline == 0 || System.nanoTime() <= deadline) {
                stats.failed(-1, false);
                if (firstError.compareAndSet(null, ex.toString())) {
                    say("  first failure: " + ex);
                }
            }
            if (session != null) {
                session.release();
            }
            return -1;
        } finally {
            if (newTls && e != null) {
                enrolees.add(e);
            }
        }
    }

    private final java.util.concurrent.atomic.AtomicReference<String> firstError = new java.util.concurrent.atomic.AtomicReference<>();

    /** User + system CPU time of a process so far (Linux: utime + stime of /proc/PID/stat, as the JDK reads it). */
    private static long cpuNanos(ProcessHandle process) {
        return process.info().totalCpuDuration().orElseThrow(() -> new IllegalStateException("no CPU time for pid " + process.pid()))
                .toNanos();
    }

    /** {@code clients} closed-loop clients for {@code seconds}; only enrolments completed within the time count. */
    private Stats closed(String name, int clients, int seconds, boolean newTls) throws Exception {
        Stats stats = new Stats(name);
        long gatewayCpu = cpuNanos(gateway.toHandle());
        long loadgenCpu = cpuNanos(ProcessHandle.current());
        long start = System.nanoTime();
        long deadline = start + seconds * 1_000_000_000L;
        CountDownLatch done = new CountDownLatch(clients);
        for (int i = 0; i < clients; i++) {
            Thread th = new Thread(() -> {
                Session s = new Session();
                try {
                    while (System.nanoTime() < deadline) {
                        enrol(newTls ? null : s, newTls, stats, 0, deadline);
                    }
                } finally {
                    s.release();
                    Http a = adminConnection.get();
                    if (a != null) {
                        a.close();
                    }
                    done.countDown();
                }
            }, "vu-" + i);
            th.start();
        }
        done.await();
        stats.seconds = seconds;
        stats.gatewayCpuNanos = cpuNanos(gateway.toHandle()) - gatewayCpu;
        stats.loadgenCpuNanos = cpuNanos(ProcessHandle.current()) - loadgenCpu;
        say(String.format(Locale.ROOT, "  %-28s %8.0f enrol/s  p50 %6.1f ms  p99 %7.1f ms  gateway CPU %.2f ms/enrol  load generator %.0f%% of CPU  failures %s",
                name, stats.perSecond(), stats.percentileMs(50), stats.percentileMs(99), stats.gatewayCpuMsPerEnrol(),
                100 * stats.loadgenCpuShare(), stats.failureText()));
        return stats;
    }

    /**
     * Open loop: enrolments start at a fixed rate whatever the gateway does, on up to {@code workers}
     * keep-alive connections. Latency counts from the scheduled start (so a backlog in the load
     * generator shows, no coordinated omission); service time from when csrattrs was sent.
     * Enrolments not started within 2 s after the end are dropped and counted as status 0.
     */
    private Stats open(String name, double rate, int seconds, int workers) throws Exception {
        Stats stats = new Stats(name);
        workers = Math.min(workers, pool / 2);
        ConcurrentLinkedQueue<Session> sessions = new ConcurrentLinkedQueue<>();
        ThreadLocal<Session> mine = ThreadLocal.withInitial(() -> {
            Session s = new Session();
            sessions.add(s);
            return s;
        });
        ThreadPoolExecutor pool = new ThreadPoolExecutor(workers, workers, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>());
        pool.prestartAllCoreThreads();
        long gatewayCpu = cpuNanos(gateway.toHandle());
        long loadgenCpu = cpuNanos(ProcessHandle.current());
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        long interval = (long) (1e9 / rate);
        long dropAfter = end + 2_000_000_000L;
        AtomicLong dropped = new AtomicLong();
        for (long i = 0; ; i++) {
            long at = start + i * interval;
            if (at >= end) {
                break;
            }
            long wait = at - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            pool.execute(() -> {
                if (System.nanoTime() > dropAfter) {
                    dropped.incrementAndGet();
                    return;
                }
                enrol(mine.get(), false, stats, at, 0);
            });
        }
        pool.shutdown();
        pool.awaitTermination(5, TimeUnit.MINUTES);
        // Per certificate issued: at 3x the peak, also what the requests shed cost the gateway.
        stats.gatewayCpuNanos = cpuNanos(gateway.toHandle()) - gatewayCpu;
        stats.loadgenCpuNanos = cpuNanos(ProcessHandle.current()) - loadgenCpu;
        // Every issued certificate counts, over the time until the last one came back.
        stats.seconds = Math.max(seconds, (System.nanoTime() - start) / 1e9);
        for (Session s : sessions) {
            s.release();
        }
        if (dropped.get() > 0) {
            for (long i = 0; i < dropped.get(); i++) {
                stats.failed(0, false);
            }
        }
        // The admin connections of the pool's threads go with the threads.
        say(String.format(Locale.ROOT, "  %-28s offered %6.0f/s  issued %6.0f/s  p50 %6.1f ms  p99 %7.1f ms  service p99 %7.1f ms  "
                        + "failures %s (0 = never sent)", name, rate, stats.perSecond(), stats.percentileMs(50), stats.percentileMs(99),
                stats.servicePercentileMs(99), stats.failureText()));
        return stats;
    }

    // ---- the gateway process ------------------------------------------------------------------------------

    /** A value in kB from /proc/PID/status of the gateway. */
    private long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(gateway.pid()), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }

    private void sampleRss() {
        while (gateway.isAlive()) {
            long rss = status("VmRSS");
            rssMax.merge(rssPhase, rss, Math::max);
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void jcmd(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                String.valueOf(gateway.pid())));
        cmd.addAll(List.of(args));
        exec(cmd, run.resolve("jcmd.log"));
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String exec(List<String> cmd, Path log) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Files.writeString(log, String.join(" ", cmd.get(0).endsWith("softhsm2-util") ? List.of("softhsm2-util --init-token ...") : cmd)
                + "\n" + output, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        if (p.waitFor() != 0) {
            throw new IOException(cmd.get(0) + " failed (" + p.exitValue() + "): " + output);
        }
        return output;
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static List<Integer> ints(String csv) {
        List<Integer> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(Integer.parseInt(s.strip()));
            }
        }
        return out;
    }

    private static void say(String s) {
        System.out.println(s);
        System.out.flush();
    }

    static {
        // Fail loudly rather than hang on an unchecked I/O problem in a worker.
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            System.err.println(t.getName() + ": " + e);
            if (e instanceof UncheckedIOException) {
                e.printStackTrace();
            }
        });
    }
}
