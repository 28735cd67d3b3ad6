package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** renew against {@link FakeMef}'s /simplereenroll over real mutual TLS with the current certificate. */
class RenewalTest {
    private static final Map<String, String> ENV = Map.of("MEF_OUT_PASSWORD", "out");
    private static final char[] PASSWORD = "out".toCharArray();

    @TempDir
    Path directory;
    FakeMef mef;
    FakeWaiting waiting = new FakeWaiting();
    Path file;
    Credentials current;

    @BeforeEach
    void start() throws Exception {
        mef = new FakeMef();
        file = directory.resolve("enrolee.p12");
    }

    @AfterEach
    void stop() {
        mef.close();
    }

    @Test
    void renewsWithANewKeyAndTheSameNamesKeepsTheAnchorsAndReplacesTheFile() throws Exception {
        install(Duration.ofDays(10), List.of(mef.ca.certificate));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));

        CliRun run = renew();

        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.stdout().contains("[step 13] verified"), run.stdout());
        X509Certificate old = current.certificate();
        assertEquals(List.of(old), mef.reenrolClients, "TLS client certificate is the current one");
        assertEquals(1, mef.csrattrsCalls.get(), "a fresh challenge is fetched for re-enrolment");
        JcaPKCS10CertificationRequest csr = new JcaPKCS10CertificationRequest(mef.reenrolCsrs.get(0));
        assertArrayEquals(old.getSubjectX500Principal().getEncoded(), csr.getSubject().getEncoded());
        assertEquals(new JcaX509CertificateHolder(old).getExtension(Extension.subjectAlternativeName),
                csr.getRequestedExtensions().getExtension(Extension.subjectAlternativeName));
        Credentials renewed = Credentials.read(file, PASSWORD);
        assertNotEquals(old.getSerialNumber(), renewed.certificate().getSerialNumber());
        assertNotEquals(old.getPublicKey(), renewed.certificate().getPublicKey(), "re-key is the default");
        assertEquals(csr.getPublicKey(), renewed.certificate().getPublicKey());
        assertEquals(old.getSubjectX500Principal(), renewed.certificate().getSubjectX500Principal());
        assertEquals(List.of(renewed.certificate(), mef.ca.certificate), renewed.chain());
        assertEquals(List.of(mef.ca.certificate), renewed.trustAnchors());
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(List.of(file), filesIn(directory), "no temporary or pending file left");
    }

    @Test
    void sameKeyRenewsWithTheCurrentKey() throws Exception {
        install(Duration.ofDays(10), List.of(mef.ca.certificate));

        CliRun run = renew("--same-key");

        assertEquals(0, run.exitCode(), run.toString());
        Credentials renewed = Credentials.read(file, PASSWORD);
        assertNotEquals(current.certificate().getSerialNumber(), renewed.certificate().getSerialNumber());
        assertEquals(current.certificate().getPublicKey(), renewed.certificate().getPublicKey());
        assertEquals(current.privateKey(), renewed.privateKey());
    }

    @Test
    void aFailedVerificationLeavesTheFileUntouched() throws Exception {
        install(Duration.ofDays(10), List.of(mef.ca.certificate));
        byte[] before = Files.readAllBytes(file);
        mef.simpleReenroll = csr -> {
            try {
                X509Certificate other = mef.ca.issue(Csr.generateKeyPair().getPublic(), FakeMef.AE_ID,
                        CertSubjectType.AE_ID.subjectAltName(FakeMef.AE_ID), KeyUsage.digitalSignature);
                return new FakeMef.Answer(200, "application/pkcs7-mime", FakeMef.certsOnly(List.of(other)), null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };

        CliRun run = renew();

        assertEquals(5, run.exitCode(), run.toString());
        assertTrue(run.stderr().contains("different public key"), run.stderr());
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(file), filesIn(directory));
    }

    @Test
    void notDueSendsNothingUnlessForcedAndTheWindowIsConfigurable() throws Exception {
        install(Duration.ofDays(60), List.of(mef.ca.certificate));
        Instant notAfter = current.certificate().getNotAfter().toInstant();

        CliRun notDue = renew();

        assertEquals(7, notDue.exitCode(), notDue.toString());
        assertEquals("not due: expires " + notAfter + ", renewal window opens " + notAfter.minus(Duration.ofDays(30)) + "\n",
                notDue.stdout());
        assertEquals("", notDue.stderr());
        assertEquals(0, mef.csrattrsCalls.get());

        assertEquals(0, renew("--window-days", "90").exitCode(), "due inside a 90-day window");
        assertEquals(7, renew("--window-days", "10").exitCode(), "the renewed certificate has 30 days left");
        CliRun forced = renew("--window-days", "10", "--force");
        assertEquals(0, forced.exitCode(), forced.toString());
        assertTrue(forced.stdout().contains("forced before the window opens"), forced.stdout());
        assertEquals(2, mef.reenrolCsrs.size());
    }

    @Test
    void anExpiredCertificateSendsNothingAndSaysToEnrolAgain() throws Exception {
        KeyPair keys = Csr.generateKeyPair();
        Instant now = Instant.now();
        write(keys, mef.ca.issue(new X500Name("CN=" + FakeMef.AE_ID), keys.getPublic(),
                CertSubjectType.AE_ID.subjectAltName(FakeMef.AE_ID), now.minus(Duration.ofDays(40)),
                now.minus(Duration.ofDays(1)), KeyUsage.digitalSignature), List.of(mef.ca.certificate));

        CliRun run = renew("--force");

        assertEquals(3, run.exitCode(), run.toString());
        assertTrue(run.stderr().contains("expired"), run.stderr());
        assertTrue(run.stderr().contains("enrol again with the bootstrap credential"), run.stderr());
        assertEquals(0, mef.csrattrsCalls.get());
        assertEquals(0, mef.reenrolCsrs.size());
    }

    @Test
    void trustsOnlyTheAnchorsStoredInThePkcs12() throws Exception {
        // The key entry's chain carries the MEF's CA certificate, and a PEM of it lies next to the
        // file: neither may make the MEF trusted, only anchor-N entries do.
        install(Duration.ofDays(10), List.of(TestPki.ca("Some Other Root").certificate));
        Path mefCa = directory.resolve("mef-ca.pem");
        Files.writeString(mefCa, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder().encodeToString(mef.ca.certificate.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        byte[] before = Files.readAllBytes(file);

        CliRun run = renew();

        assertEquals(4, run.exitCode(), run.toString());
        assertTrue(run.stderr().startsWith("enrolee: TLS handshake with 127.0.0.1:"), run.stderr());
        assertEquals(0, mef.csrattrsCalls.get());
        assertArrayEquals(before, Files.readAllBytes(file));
        CliRun withMefCa = renew("--mef-ca", mefCa.toString());
        assertEquals(2, withMefCa.exitCode(), "renew has no --mef-ca");
        assertTrue(withMefCa.stderr().startsWith("enrolee: unknown option \"--mef-ca\" for renew"), withMefCa.stderr());
    }

    @Test
    void aDeferredRenewalIsResumedWithTheSameKeyAndCsr() throws Exception {
        install(Duration.ofDays(10), List.of(mef.ca.certificate));
        byte[] before = Files.readAllBytes(file);
        mef.simpleReenroll = FakeMef.first(List.of(new FakeMef.Answer(202, "text/plain", "awaiting operator approval", "1")),
                mef::reissueFor);

        CliRun first = renew();

        assertEquals(6, first.exitCode(), first.toString());
        assertTrue(first.stderr().contains("retry after 1 s; the request is kept in " + file + ".pending"), first.stderr());
        assertArrayEquals(before, Files.readAllBytes(file));
        CliRun show = CliRun.run(ENV, waiting, "show", file.toString());
        assertTrue(show.stdout().contains("pending:    " + file + ".pending"), show.stdout());

        CliRun second = renew();

        assertEquals(0, second.exitCode(), second.toString());
        assertEquals(1, mef.csrattrsCalls.get());
        assertArrayEquals(mef.reenrolCsrs.get(0), mef.reenrolCsrs.get(1));
        assertEquals(new JcaPKCS10CertificationRequest(mef.reenrolCsrs.get(0)).getPublicKey(),
                Credentials.read(file, PASSWORD).certificate().getPublicKey());
        assertEquals(List.of(file), filesIn(directory));
    }

    /** Installs a credential as enrol would have, with {@code remaining} validity left. */
    private void install(Duration remaining, List<X509Certificate> anchors) throws Exception {
        KeyPair keys = Csr.generateKeyPair();
        Instant now = Instant.now();
        write(keys, mef.ca.issue(new X500Name("CN=" + FakeMef.AE_ID), keys.getPublic(),
                CertSubjectType.AE_ID.subjectAltName(FakeMef.AE_ID), now.minus(Duration.ofDays(20)), now.plus(remaining),
                KeyUsage.digitalSignature, KeyPurposeId.id_kp_clientAuth), anchors);
    }

    private void write(KeyPair keys, X509Certificate certificate, List<X509Certificate> anchors) throws Exception {
        current = new Credentials(keys.getPrivate(), List.of(certificate, mef.ca.certificate), anchors);
        current.write(file, PASSWORD);
    }

    private CliRun renew(String... more) {
        List<String> args = new ArrayList<>(List.of("renew", "--in", file.toString(), "--mef", mef.url().toString()));
        args.addAll(List.of(more));
        return CliRun.run(ENV, waiting, args.toArray(new String[0]));
    }

    private static List<Path> filesIn(Path directory) throws Exception {
        try (var files = Files.list(directory)) {
            return files.filter(f -> !f.getFileName().toString().endsWith(".pem")).sorted().toList();
        }
    }
}
