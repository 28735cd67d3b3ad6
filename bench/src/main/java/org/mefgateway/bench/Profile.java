package org.mefgateway.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordingFile;

/**
 * The gateway's JFR recording, aggregated the way {@code jfr print --events jdk.ExecutionSample}
 * output would be by hand: samples per top frame (self time), per component (the topmost frame
 * that belongs to a known component), and per thread pool. Native samples (threads inside JNI,
 * e.g. SoftHSM's C code under SunPKCS11) are counted separately from jdk.NativeMethodSample.
 */
final class Profile {
    /** Package prefix to component; the first match walking down from the top frame decides. */
    private static final Map<String, String> COMPONENTS = new LinkedHashMap<>();

    static {
        COMPONENTS.put("sun.security.pkcs11", "HSM signing (SunPKCS11 -> SoftHSM)");
        COMPONENTS.put("sun.security.ssl", "TLS (JSSE handshake/records)");
        COMPONENTS.put("sun.security.ec", "EC crypto (SunEC: ECDHE, CertificateVerify, CSR/cert verify)");
        COMPONENTS.put("sun.security.util.math", "EC crypto (SunEC: ECDHE, CertificateVerify, CSR/cert verify)");
        COMPONENTS.put("sun.security.provider.certpath", "X.509 path validation (client certificates)");
        COMPONENTS.put("sun.security.x509", "X.509 parsing");
        COMPONENTS.put("sun.security.provider", "JDK digests/random");
        COMPONENTS.put("com.sun.crypto.provider", "AES-GCM / HKDF (TLS records)");
        COMPONENTS.put("org.bouncycastle", "Bouncy Castle (CSR parse, TBS, CMS)");
        COMPONENTS.put("org.h2", "H2 database");
        COMPONENTS.put("com.zaxxer", "JDBC pool");
        COMPONENTS.put("org.mefgateway", "MEF gateway code");
        COMPONENTS.put("io.vertx", "Vert.x");
        COMPONENTS.put("io.netty", "Netty I/O");
        COMPONENTS.put("org.slf4j", "logging");
        COMPONENTS.put("io.micrometer", "metrics");
    }

    private Profile() {
    }

    /** {@code java -cp bench/target/classes org.mefgateway.bench.Profile FILE.jfr}: the summary of any recording. */
    public static void main(String[] args) throws IOException {
        System.out.print(summary(Path.of(args[0])));
    }

    static String summary(Path jfr) throws IOException {
        Map<String, Integer> self = new HashMap<>();
        Map<String, Integer> component = new HashMap<>();
        Map<String, Integer> threads = new HashMap<>();
        Map<String, Integer> inclusive = new HashMap<>();
        Map<String, Integer> nativeTop = new HashMap<>();
        int samples = 0;
        int natives = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            String type = e.getEventType().getName();
            boolean nat = type.equals("jdk.NativeMethodSample");
            if (!nat && !type.equals("jdk.ExecutionSample")) {
                continue;
            }
            if (e.getStackTrace() == null || e.getStackTrace().getFrames().isEmpty()) {
                continue;
            }
            List<RecordedFrame> frames = e.getStackTrace().getFrames();
            if (nat) {
                natives++;
                nativeTop.merge(name(frames.get(0).getMethod()), 1, Integer::sum);
                continue;
            }
            samples++;
            self.merge(name(frames.get(0).getMethod()), 1, Integer::sum);
            String comp = "other (JDK, JIT'd glue)";
            outer:
            for (RecordedFrame f : frames) {
                String cls = f.getMethod().getType().getName();
                for (Map.Entry<String, String> c : COMPONENTS.entrySet()) {
                    if (cls.startsWith(c.getKey())) {
                        comp = c.getValue();
                        break outer;
                    }
                }
            }
            component.merge(comp, 1, Integer::sum);
            Set<String> seen = new HashSet<>();
            for (RecordedFrame f : frames) {
                String n = name(f.getMethod());
                if (n.startsWith("org.mefgateway") && seen.add(n)) {
                    inclusive.merge(n, 1, Integer::sum);
                }
            }
            String thread = e.getThread("sampledThread") == null ? "?" : e.getThread("sampledThread").getJavaName();
            threads.merge(thread == null ? "?" : thread.replaceAll("[0-9]+", "N"), 1, Integer::sum);
        }
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "gateway profile (JFR, settings=profile, during the keep-alive run): %d Java samples, %d native samples%n",
                samples, natives));
        top(s, "by component (topmost frame of a known component)", component, samples, 20);
        top(s, "by thread", threads, samples, 10);
        top(s, "hottest methods (self, top frame)", self, samples, 15);
        top(s, "gateway methods on the stack (inclusive)", inclusive, samples, 10);
        top(s, "native samples by top frame (threads inside JNI/blocking calls)", nativeTop, Math.max(1, natives), 8);
        return s.toString();
    }

    private static void top(StringBuilder s, String title, Map<String, Integer> counts, int total, int n) {
        s.append(title).append(":\n");
        counts.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).limit(n)
                .forEach(e -> s.append(String.format(Locale.ROOT, "  %5.1f%%  %6d  %s%n", 100.0 * e.getValue() / Math.max(1, total),
                        e.getValue(), e.getKey())));
    }

    private static String name(RecordedMethod m) {
        return m.getType().getName() + "." + m.getName();
    }
}
