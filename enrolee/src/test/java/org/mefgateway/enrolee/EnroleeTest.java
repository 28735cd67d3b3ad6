package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole procedure against {@link FakeMef} over real mutual TLS on 127.0.0.1. */
class EnroleeTest {
    private static final char[] BOOTSTRAP_PASSWORD = "boot".toCharArray();
    private static final char[] OUT_PASSWORD = "out".toCharArray();

    @TempDir
    Path directory;
    FakeMef mef;

    @BeforeEach
    void start() throws Exception {
        mef = new FakeMef();
    }

    @AfterEach
    void stop() {
        mef.close();
    }

    @Test
    void enrolsReportingEveryStepAndInstallsTheVerifiedCredential() throws Exception {
        List<String> steps = new ArrayList<>();

        Optional<EnrolmentResult> result = enrolee().enrol((n, text) -> steps.add(n + " " + text));

        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13),
                steps.stream().map(s -> Integer.parseInt(s.split(" ")[0])).toList());
        assertTrue(steps.get(5).contains("challengePassword (" + FakeMef.CHALLENGE.length() + " chars)"), steps.get(5));
        assertFalse(String.join("\n", steps).contains(FakeMef.CHALLENGE), "the challenge must never be printed");
        Credentials installed = Credentials.read(directory.resolve("out.p12"), OUT_PASSWORD);
        assertEquals(result.orElseThrow().credentials().chain(), installed.chain());
        assertEquals(List.of(mef.ca.certificate), installed.trustAnchors());
        assertEquals(installed.certificate().getPublicKey(), result.get().credentials().certificate().getPublicKey());
    }

    @Test
    void doesNothingWhenTheMefHasNoCommand() throws Exception {
        mef.command = "{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\"}";
        List<String> steps = new ArrayList<>();

        assertEquals(Optional.empty(), enrolee().enrol((n, text) -> steps.add(text)));

        assertEquals(1, steps.size());
        assertFalse(Files.exists(directory.resolve("out.p12")));
    }

    @Test
    void reportsARefusalWithStatusAndReasonAndWritesNothing() throws Exception {
        mef.simpleEnroll = csr -> new FakeMef.Answer(403, "text/plain", "challenge expired\r\n", null);

        EstException e = assertThrows(EstException.class, () -> enrolee().enrol((n, text) -> { }));

        assertEquals(Failure.REFUSED, e.failure());
        assertEquals("MEF refused /simpleenroll: HTTP 403: challenge expired", e.getMessage());
        assertFalse(Files.exists(directory.resolve("out.p12")));
        assertFalse(Files.exists(directory.resolve("out.p12.pending")), "a refused request is not kept");
    }

    @Test
    void reportsDeferredIssuanceWithRetryAfter() throws Exception {
        mef.simpleEnroll = csr -> new FakeMef.Answer(202, "text/plain", "", "120");

        EstException e = assertThrows(EstException.class, () -> enrolee().enrol((n, text) -> { }));

        assertEquals(Failure.PENDING, e.failure());
        assertEquals(Optional.of(Duration.ofSeconds(120)), e.retryAfter());
        assertEquals("/simpleenroll pending, retry after 120 s; the request is kept in " + directory.resolve("out.p12.pending")
                + "; run the same command again to resume it", e.getMessage());
        assertTrue(Files.exists(directory.resolve("out.p12.pending")));
    }

    @Test
    void rejectsACertificateForAnotherKeyAndWritesNothing() throws Exception {
        mef.simpleEnroll = csr -> {
            try {
                var issued = mef.ca.issue(Csr.generateKeyPair().getPublic(), FakeMef.AE_ID,
                        CertSubjectType.AE_ID.subjectAltName(FakeMef.AE_ID), org.bouncycastle.asn1.x509.KeyUsage.digitalSignature);
                return new FakeMef.Answer(200, "application/pkcs7-mime", FakeMef.certsOnly(List.of(issued)), null);
            } catch (Exception ex) {
                throw new IllegalStateException(ex);
            }
        };

        EnrolmentException e = assertThrows(EnrolmentException.class, () -> enrolee().enrol((n, text) -> { }));

        assertEquals(Failure.VERIFICATION, e.failure());
        assertFalse(Files.exists(directory.resolve("out.p12")));
    }

    @Test
    void failsTlsWhenTheMefIsNotAuthenticatedByTheGivenAnchor() throws Exception {
        Enrolee enrolee = new Enrolee(new EnroleeOptions(mef.url(), null, mef.bootstrapCredential(BOOTSTRAP_PASSWORD),
                BOOTSTRAP_PASSWORD, List.of(TestPki.ca("Not the MEF").certificate), directory.resolve("out.p12"), OUT_PASSWORD));

        EnrolmentException e = assertThrows(EnrolmentException.class, () -> enrolee.enrol((n, text) -> { }));

        assertEquals(Failure.UNAVAILABLE, e.failure());
        assertTrue(e.getMessage().startsWith("TLS handshake with 127.0.0.1:"), e.getMessage());
    }

    @Test
    void cliEnrolsThenShowsTheInstalledCertificate() throws Exception {
        Path bootstrap = directory.resolve("bootstrap.p12");
        try (OutputStream out = Files.newOutputStream(bootstrap)) {
            mef.bootstrapCredential(BOOTSTRAP_PASSWORD).store(out, BOOTSTRAP_PASSWORD);
        }
        Path mefCa = directory.resolve("mef-ca.pem");
        Files.writeString(mefCa, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder().encodeToString(mef.ca.certificate.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        Map<String, String> env = Map.of("MEF_BOOTSTRAP_PASSWORD", "boot", "MEF_OUT_PASSWORD", "out");
        String out = directory.resolve("out.p12").toString();

        Run enrol = cli(env, "enrol", "--mef", mef.url().toString(), "--bootstrap", bootstrap.toString(),
                "--mef-ca", mefCa.toString(), "--out", out);
        assertEquals(0, enrol.exitCode, enrol.stderr);
        assertTrue(enrol.stdout.startsWith("[step pre] MEF instructs dev-1: CERT_PROV"), enrol.stdout);
        assertTrue(enrol.stdout.contains("[step 13] verified"), enrol.stdout);

        Run again = cli(env, "enrol", "--mef", mef.url().toString(), "--bootstrap", bootstrap.toString(),
                "--mef-ca", mefCa.toString(), "--out", out);
        assertEquals(2, again.exitCode);
        assertTrue(again.stderr.startsWith("enrolee: " + out + " already exists"), again.stderr);

        Run show = cli(env, "show", out);
        assertEquals(0, show.exitCode, show.stderr);
        assertTrue(show.stdout.contains("SAN:        URI:" + FakeMef.AE_ID), show.stdout);
        assertTrue(show.stdout.contains("anchor-0:   CN=MEF Test CA"), show.stdout);
    }

    @Test
    void cliRejectsAMissingOutputPasswordUnknownCommandsAndNoArguments() throws Exception {
        Run noPassword = cli(Map.of("MEF_BOOTSTRAP_PASSWORD", "boot"), "enrol", "--mef", "https://127.0.0.1:1",
                "--bootstrap", "b.p12", "--mef-ca", "ca.pem", "--out", directory.resolve("o.p12").toString());
        assertEquals(2, noPassword.exitCode);
        assertTrue(noPassword.stderr.startsWith("enrolee: no password for the output PKCS#12: set MEF_OUT_PASSWORD"),
                noPassword.stderr);

        assertEquals(2, cli(Map.of(), "renew").exitCode);
        assertEquals(2, cli(Map.of()).exitCode);
    }

    private Enrolee enrolee() throws Exception {
        return new Enrolee(new EnroleeOptions(mef.url(), null, mef.bootstrapCredential(BOOTSTRAP_PASSWORD),
                BOOTSTRAP_PASSWORD, List.of(mef.ca.certificate), directory.resolve("out.p12"), OUT_PASSWORD));
    }

    private record Run(int exitCode, String stdout, String stderr) {
    }

    private static Run cli(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exitCode = new EnroleeCli(env, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Run(exitCode, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
