package org.mefgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mefgate policy check} on CSRs made by {@code openssl req}, against the shipped example profiles. */
class PolicyCheckTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C-CHECK";

    @Test
    void anAcceptedCsrPrintsTheCertificateItWouldGetAndExitsZero(@TempDir Path dir) throws Exception {
        Path csr = opensslCsr(dir, "CN = " + AE_ID, "subjectAltName = URI:" + AE_ID + "\nextendedKeyUsage = clientAuth");

        Result r = check(dir, "ae", csr, Map.of("type", "AE-ID", "subject-id", AE_ID, "suids", "40"));

        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("decision: ISSUE profile=ae"), r.out());
        assertTrue(r.out().contains("san:      [URI:" + AE_ID + "]"), r.out());
        assertTrue(r.out().contains("eku:      [2.25.318609125702178136709414221712267757771.1.40, 1.3.6.1.5.5.7.3.2]"), r.out());
        assertTrue(r.out().contains("assumed:  the challengePassword is one this MEF issued"), r.out());
    }

    @Test
    void aRefusedCsrPrintsRuleAndReasonAndExitsThree(@TempDir Path dir) throws Exception {
        Path csr = opensslCsr(dir, "CN = " + AE_ID, "subjectAltName = URI:" + AE_ID);

        Result r = check(dir, "cse", csr, Map.of());

        assertEquals(PolicyCheck.DENIED, r.exit(), r.out());
        assertTrue(r.out().contains("assumed:  an Enrolee registered as AE_ID " + AE_ID), r.out());
        assertTrue(r.out().contains("decision: DENY profile=cse rule=enrolee.type status=403"), r.out());
    }

    @Test
    void aCsrThatIsNotDerIsReportedAsMalformed(@TempDir Path dir) throws Exception {
        Path csr = Files.writeString(dir.resolve("junk.pem"), "not a CSR");

        Result r = check(dir, "default", csr, Map.of());

        assertEquals(PolicyCheck.DENIED, r.exit(), r.out());
        assertTrue(r.out().contains("rule=csr.malformed status=400"), r.out());
    }

    record Result(int exit, String out) {
    }

    private static Result check(Path dir, String profile, Path csr, Map<String, String> options) throws Exception {
        Path config = Files.writeString(dir.resolve("mefgate.yaml"),
                "dataDir: " + dir.resolve("var") + "\npolicyDir: ../ops/config/policies\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int exit = PolicyCheck.run(GatewayConfig.load(config), profile, csr, options,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8));
    }

    private static Path opensslCsr(Path dir, String dn, String ext) throws Exception {
        exec(dir, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem");
        Files.writeString(dir.resolve("req.cnf"), String.join("\n", "[req]", "prompt = no", "distinguished_name = dn",
                "attributes = attrs", "req_extensions = ext", "[dn]", dn, "[attrs]", "challengePassword = 0123456789abcdef",
                "[ext]", ext, ""));
        exec(dir, "openssl", "req", "-new", "-key", "key.pem", "-config", "req.cnf", "-out", "csr.pem");
        return dir.resolve("csr.pem");
    }

    private static void exec(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + output);
    }
}
