package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.Pem;

/**
 * certmonger's SCEP helper, {@code scep-submit} (Debian's certmonger), against the SCEP server on
 * the publication listener: GetCACaps (RFC 8894 3.5.2) and GetCACert (3.5.1), as certmonger asks
 * them before it enrols.
 */
class CertmongerScepTest {
    static final Path SCEP_SUBMIT = Path.of("/usr/lib/certmonger/scep-submit");

    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        if (!Files.isExecutable(SCEP_SUBMIT)) {
            fail("certmonger's " + SCEP_SUBMIT + " is missing: install the Debian package certmonger (apt-get install certmonger)");
        }
        mef = TestGateway.start(DeviceMaker.create("Maker certmonger CA"));
    }

    @AfterAll
    static void stop() {
        if (mef != null) {
            mef.close();
        }
    }

    /** RFC 8894 3.5.2: what a SCEP client may rely on; no DES, MD5 or SHA-1 unless the legacy switch is on (issue 17). */
    @Test
    void getCaCapsAdvertisesPostSha2AesAndScepStandardWithoutLegacyAlgorithms(@TempDir Path dir) throws Exception {
        List<String> caps = scepSubmit(dir, "-c").lines().map(String::strip).filter(l -> !l.isEmpty()).toList();

        assertTrue(caps.containsAll(List.of("POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512", "AES", "SCEPStandard", "Renewal")), caps.toString());
        assertTrue(caps.stream().noneMatch(c -> c.equals("DES3") || c.equals("SHA-1") || c.equals("MD5")), caps.toString());
    }

    /** scep-submit -C prints the RA certificate, then the CA certificate (certmonger-scep-submit(8)). */
    @Test
    void getCaCertGivesAnRaCertificateAndTheGatewayCaCertificate(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("certs.pem"), scepSubmit(dir, "-C"));

        List<X509Certificate> certs = Pem.read(dir.resolve("certs.pem"));

        assertEquals(2, certs.size(), certs.toString());
        assertArrayEquals(mef.caCertificate.getEncoded(), certs.get(1).getEncoded(), "the CA certificate, byte for byte");
        certs.get(0).verify(mef.caCertificate.getPublicKey());
        assertEquals(mef.caCertificate.getSubjectX500Principal(), certs.get(0).getIssuerX500Principal());
    }

    /** Runs scep-submit against the gateway's SCEP URL with a 30 s limit; its stdout, which it must exit 0 with. */
    static String scepSubmit(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(SCEP_SUBMIT.toString(), "-u", mef.publicationBase() + "/scep"));
        command.addAll(List.of(args));
        Path out = dir.resolve("scep-submit.out");
        Path err = dir.resolve("scep-submit.err");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            fail(String.join(" ", command) + " did not finish in 30 s; stderr:\n" + Files.readString(err));
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\nstderr:\n" + Files.readString(err) + "\nstdout:\n" + stdout);
        return stdout;
    }
}
