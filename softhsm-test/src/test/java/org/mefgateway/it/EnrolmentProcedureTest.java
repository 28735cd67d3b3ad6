package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.enrolee.Credentials;
import org.mefgateway.enrolee.Enrolee;
import org.mefgateway.enrolee.EnroleeOptions;
import org.mefgateway.enrolee.EnrolmentResult;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.policy.Oids;

/** The 13 steps of TS-0003's Certificate Enrolment Procedure, done by our Enrolee against a real gateway. */
class EnrolmentProcedureTest {
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker One CA");
        mef = TestGateway.start(maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    private EnrolmentResult enrol(DeviceMaker.Device device, Path out, List<String> steps) throws Exception {
        EnroleeOptions options = new EnroleeOptions(mef.mefBase(), null, device.keyStore(), DeviceMaker.Device.PASSWORD,
                List.of(mef.caCertificate), out, "out-password".toCharArray(), java.time.Duration.ZERO);
        return new Enrolee(options).enrol((n, text) -> steps.add(n + " " + text)).orElseThrow();
    }

    @Test
    void ourEnroleeRenewsThroughSimplereenrollTrustingOnlyTheAnchorsItInstalled(@TempDir Path dir) throws Exception {
        DeviceMaker.Device device = maker.device("sensor-renew");
        String aeId = "//m2m.example.com/CSE3219/C-RENEW-CLI";
        mef.register(device, "ae-renew", "AE-ID", aeId, 40);
        Path file = dir.resolve("ae.p12");
        X509Certificate first = enrol(device, file, new ArrayList<>()).credentials().certificate();

        // Not due: the test profile's certificates live 7 days, the window is 2 days.
        org.mefgateway.enrolee.RenewalOptions notDue = new org.mefgateway.enrolee.RenewalOptions(mef.mefBase(), null, file,
                "out-password".toCharArray(), java.time.Duration.ofDays(2), false, false, java.time.Duration.ZERO);
        org.mefgateway.enrolee.EnrolmentException early = org.junit.jupiter.api.Assertions.assertThrows(
                org.mefgateway.enrolee.EnrolmentException.class,
                () -> new org.mefgateway.enrolee.Renewal(notDue).renew((n, text) -> { }));
        assertEquals(org.mefgateway.enrolee.Failure.NOT_DUE, early.failure());

        org.mefgateway.enrolee.RenewalOptions due = new org.mefgateway.enrolee.RenewalOptions(mef.mefBase(), null, file,
                "out-password".toCharArray(), java.time.Duration.ofDays(30), false, false, java.time.Duration.ZERO);
        X509Certificate renewed = new org.mefgateway.enrolee.Renewal(due).renew((n, text) -> { }).certificate();

        assertEquals(sans(first), sans(renewed));
        assertEquals(first.getSubjectX500Principal(), renewed.getSubjectX500Principal());
        org.junit.jupiter.api.Assertions.assertNotEquals(first.getPublicKey(), renewed.getPublicKey(), "re-keyed");
        assertEquals(renewed, org.mefgateway.enrolee.Credentials.read(file, "out-password".toCharArray()).certificate(),
                "the PKCS#12 now holds the renewed certificate");
        assertEquals(2, mef.issued().stream().filter(c -> c.enroleeId().equals("ae-renew")).count());
    }

    @Test
    void aeEnrolsAndGetsACertificateWithItsRegisteredIdentityAndSuidEkusSignedByTheTokenKey(@TempDir Path dir) throws Exception {
        DeviceMaker.Device device = maker.device("sensor-0001");
        String aeId = "//m2m.example.com/CSE3219/C9886";
        mef.register(device, "ae-1", "AE-ID", aeId, 40, 43);

        List<String> steps = new ArrayList<>();
        EnrolmentResult result = enrol(device, dir.resolve("ae.p12"), steps);
        X509Certificate cert = result.credentials().certificate();

        // Every step of the procedure was reported, in order.
        List<Integer> numbers = steps.stream().map(s -> Integer.parseInt(s.split(" ", 2)[0])).collect(Collectors.toList());
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), numbers, String.join("\n", steps));

        // Signed by the CA key on the token.
        cert.verify(mef.caCertificate.getPublicKey());
        assertEquals(mef.caCertificate.getSubjectX500Principal(), cert.getIssuerX500Principal());
        // Identity in subjectAltName as a URI (TS-0003 10.1), EKUs of SUIDs 40 and 43, digitalSignature.
        assertEquals(List.of(List.of(6, aeId)), sans(cert));
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".40", Oids.SUID_EKU_ARC + ".43"), cert.getExtendedKeyUsage());
        assertTrue(cert.getKeyUsage()[0], "digitalSignature");
        assertEquals(-1, cert.getBasicConstraints(), "not a CA");
        assertEquals("EC", cert.getPublicKey().getAlgorithm());

        // It is in the ledger, byte for byte, and the Enrolee has no more commands.
        IssuedCertificate recorded = mef.issued().stream()
                .filter(c -> c.serialHex().equals(cert.getSerialNumber().toString(16))).findFirst().orElseThrow();
        assertArrayEquals(cert.getEncoded(), recorded.der());
        assertEquals("ae-1", recorded.enroleeId());
        HttpResponse<String> command = TestGateway.get(mef.client(device), mef.mefBase().resolve("/mef/command"));
        assertTrue(command.body().contains("\"NO_MORE_COMMANDS\""), command.body());

        // What was written is what the Enrolee verified: key, chain and the installed anchor.
        Credentials stored = Credentials.read(dir.resolve("ae.p12"), "out-password".toCharArray());
        assertEquals(cert, stored.certificate());
        assertEquals(List.of(mef.caCertificate), stored.trustAnchors());
    }

    @Test
    void cseGetsItsCseIdAsADnsName(@TempDir Path dir) throws Exception {
        DeviceMaker.Device device = maker.device("gateway-0002");
        mef.register(device, "cse-1", "CSE-ID", "cse-in.m2m.example.com", 40, 41, 42);

        X509Certificate cert = enrol(device, dir.resolve("cse.p12"), new ArrayList<>()).credentials().certificate();

        assertEquals(List.of(List.of(2, "cse-in.m2m.example.com")), sans(cert));
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".40", Oids.SUID_EKU_ARC + ".41", Oids.SUID_EKU_ARC + ".42"),
                cert.getExtendedKeyUsage());
    }

    @Test
    void identityLongerThanACommonNameIsCarriedOnlyInACriticalSan(@TempDir Path dir) throws Exception {
        String nodeId = "urn:dev:ops:32473-Refrigerator-" + "5002".repeat(12);
        DeviceMaker.Device device = maker.device("fridge-0004");
        mef.register(device, "node-long", "Node-ID", nodeId, 40);

        X509Certificate cert = enrol(device, dir.resolve("node.p12"), new ArrayList<>()).credentials().certificate();

        assertTrue(nodeId.length() > 64);
        assertEquals("", cert.getSubjectX500Principal().getName(), "RFC 5280: a CN holds at most 64 characters");
        assertTrue(cert.getCriticalExtensionOIDs().contains(Extension.subjectAlternativeName.getId()),
                "RFC 5280 4.2.1.6: SAN is critical when the subject is empty");
        assertEquals(List.of(List.of(6, nodeId)), sans(cert));
    }

    @Test
    void commandNamesWhatToEnrolForBeforeEnrolment() throws Exception {
        DeviceMaker.Device device = maker.device("meter-0003");
        mef.register(device, "node-1", "Node-ID", "urn:gsma:imei:35-209900-176148-1", 40);

        HttpResponse<String> r = TestGateway.get(mef.client(device), mef.mefBase().resolve("/mef/command"));

        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("\"command\":\"CERT_PROV\""), r.body());
        assertTrue(r.body().contains("\"certProvProtocolID\":\"EST\""), r.body());
        assertTrue(r.body().contains("\"certSubjectType\":1"), r.body());
        assertTrue(r.body().contains("\"certSubjectID\":\"urn:gsma:imei:35-209900-176148-1\""), r.body());
        assertTrue(r.body().contains("\"URI\":\"https://127.0.0.1:" + mef.gateway.estPort() + "/.well-known/est\""), r.body());
    }

    /**
     * subjectAltName entries as [tag, text], read with Bouncy Castle: the JDK's
     * getSubjectAlternativeNames drops a URI without a scheme, which an absolute AE-ID is.
     */
    static List<List<?>> sans(X509Certificate cert) throws Exception {
        GeneralNames names = GeneralNames.fromExtensions(new JcaX509CertificateHolder(cert).getExtensions(),
                Extension.subjectAlternativeName);
        List<List<?>> out = new ArrayList<>();
        for (GeneralName n : names.getNames()) {
            out.add(List.of(n.getTagNo(), n.getName().toString()));
        }
        return out;
    }
}
