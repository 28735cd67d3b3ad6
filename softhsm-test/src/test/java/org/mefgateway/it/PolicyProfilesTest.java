package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.it.CurlOpensslTest.run;

import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSSignedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.policy.Oids;

/**
 * The shipped example profiles (ops/config/policies: default, ae, cse) served on their labels by
 * a real gateway, with CSRs made by {@code openssl req}: what each profile issues, how each
 * refusal names its rule and profile in the response and in the metrics, and a rule changed while
 * the gateway runs.
 */
class PolicyProfilesTest {
    static final Path SHIPPED = Path.of("../ops/config/policies");
    static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

    static DeviceMaker maker;
    static TestGateway mef;
    static int devices;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Policy CA");
        Map<String, String> profiles = new HashMap<>();
        try (Stream<Path> files = Files.list(SHIPPED)) {
            for (Path f : files.toList()) {
                profiles.put(f.getFileName().toString(), Files.readString(f));
            }
        }
        assertEquals(java.util.Set.of("default.yaml", "ae.yaml", "cse.yaml"), profiles.keySet());
        mef = TestGateway.start(profiles, maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /** A registered device and the CSR lines its openssl request will carry. */
    record Enrolee(DeviceMaker.Device device, String id) {
    }

    static Enrolee register(String type, String subjectId, int... suids) throws Exception {
        String n = String.valueOf(++devices);
        DeviceMaker.Device device = maker.device("policy-" + n);
        mef.register(device, "policy-" + n, type, subjectId, suids);
        return new Enrolee(device, "policy-" + n);
    }

    String challenge(Enrolee e, String label) throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(e.device()), mef.est(label + "/csrattrs"));
        assertEquals(200, r.statusCode(), r.body());
        return TestCsr.challengeFrom(r.body());
    }

    /**
     * A DER CSR from {@code openssl req}: {@code keyArgs} make the key (genpkey arguments),
     * {@code dn} are the [dn] lines, {@code ext} the [ext] lines.
     */
    static byte[] opensslCsr(Path dir, List<String> keyArgs, List<String> dn, List<String> ext, String challenge)
            throws Exception {
        List<String> genpkey = new ArrayList<>(List.of("openssl", "genpkey", "-out", "key.pem"));
        genpkey.addAll(keyArgs);
        run(dir, genpkey.toArray(String[]::new));
        List<String> cnf = new ArrayList<>(List.of("[req]", "prompt = no", "distinguished_name = dn",
                "attributes = req_attributes", "req_extensions = ext", "[dn]"));
        cnf.addAll(dn);
        cnf.add("[req_attributes]");
        cnf.add("challengePassword = " + challenge);
        cnf.add("[ext]");
        cnf.addAll(ext);
        Files.writeString(dir.resolve("req.cnf"), String.join("\n", cnf) + "\n");
        run(dir, "openssl", "req", "-new", "-key", "key.pem", "-sha256", "-config", "req.cnf", "-outform", "DER", "-out", "csr.der");
        return Files.readAllBytes(dir.resolve("csr.der"));
    }

    static final List<String> P256 = List.of("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256");

    HttpResponse<String> enrol(Enrolee e, String label, byte[] der) throws Exception {
        return TestGateway.post(mef.client(e.device()), mef.est(label + "/simpleenroll"), "application/pkcs10",
                Base64.getMimeEncoder().encodeToString(der));
    }

    static X509Certificate certificate(HttpResponse<String> r) throws Exception {
        CMSSignedData p7 = new CMSSignedData(Base64.getMimeDecoder().decode(r.body()));
        X509CertificateHolder holder = p7.getCertificates().getMatches(null).iterator().next();
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(holder.getEncoded()));
    }

    static List<String> sans(X509Certificate cert) throws Exception {
        GeneralNames names = GeneralNames.fromExtensions(new X509CertificateHolder(cert.getEncoded()).getExtensions(),
                Extension.subjectAlternativeName);
        return Stream.of(names.getNames()).map(GeneralName::toString).toList();
    }

    @Test
    void theAeLabelIssuesAnAeCertificateWithTheEkusOfItsSuidsAndTheClientAuthItRequested(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/CSE3219/C-POLICY-AE";
        Enrolee ae = register("AE-ID", aeId, 40);
        byte[] csr = opensslCsr(dir, P256, List.of("CN = " + aeId),
                List.of("subjectAltName = URI:" + aeId, "extendedKeyUsage = clientAuth"), challenge(ae, "/ae"));

        HttpResponse<String> r = enrol(ae, "/ae", csr);

        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = certificate(r);
        assertEquals(List.of("6: " + aeId), sans(cert));
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".40", CLIENT_AUTH), cert.getExtendedKeyUsage());
        assertEquals(Duration.ofDays(365).plusSeconds(60),
                Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()));
        assertTrue(mef.issued().stream().anyMatch(c -> c.enroleeId().equals(ae.id()) && c.profile().equals("ae")));
    }

    /** ae.yaml allows clientAuth; it does not add it: an AE that does not ask gets only the EKUs of its SUIDs. */
    @Test
    void theAeLabelAddsNoClientAuthThatTheCsrDidNotRequest(@TempDir Path dir) throws Exception {
        String aeId = "//m2m.example.com/CSE3219/C-POLICY-AE-NOCLIENT";
        Enrolee ae = register("AE-ID", aeId, 40);
        byte[] csr = opensslCsr(dir, P256, List.of("CN = " + aeId), List.of("subjectAltName = URI:" + aeId), challenge(ae, "/ae"));

        HttpResponse<String> r = enrol(ae, "/ae", csr);

        assertEquals(200, r.statusCode(), r.body());
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".40"), certificate(r).getExtendedKeyUsage());
    }

    @Test
    void theCseLabelIssuesFurtherDnsNamesOfItsDomainAnOrganisationAndServerAuth(@TempDir Path dir) throws Exception {
        String cseId = "cse-policy.m2m.example.com";
        Enrolee cse = register("CSE-ID", cseId, 41);
        byte[] csr = opensslCsr(dir, P256, List.of("CN = " + cseId, "O = Example M2M Operator"),
                List.of("subjectAltName = DNS:" + cseId + ", DNS:api.m2m.example.com", "extendedKeyUsage = serverAuth, clientAuth"),
                challenge(cse, "/cse"));

        HttpResponse<String> r = enrol(cse, "/cse", csr);

        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = certificate(r);
        assertEquals(List.of("2: " + cseId, "2: api.m2m.example.com"), sans(cert));
        assertTrue(cert.getSubjectX500Principal().getName().contains("O=Example M2M Operator"),
                cert.getSubjectX500Principal().getName());
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".41", SERVER_AUTH, CLIENT_AUTH), cert.getExtendedKeyUsage());
        assertEquals(Duration.ofDays(730).plusSeconds(60),
                Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()));
    }

    @Test
    void eachRefusalNamesItsRuleAndProfileToTheClientAndInTheMetricsAndIssuesNothing(@TempDir Path dir) throws Exception {
        Enrolee ae = register("AE-ID", "//m2m.example.com/CSE3219/C-POLICY-DENY", 40);
        Enrolee cse = register("CSE-ID", "cse-deny.m2m.example.com", 41);
        String aeSan = "subjectAltName = URI://m2m.example.com/CSE3219/C-POLICY-DENY";
        String cseSan = "subjectAltName = DNS:cse-deny.m2m.example.com";
        record Case(Enrolee who, String label, List<String> key, List<String> dn, List<String> ext, String profile, String rule) {
        }
        List<Case> cases = List.of(
                new Case(ae, "/cse", P256, List.of("CN = x"), List.of(aeSan), "cse", "enrolee.type"),
                new Case(cse, "/cse", P256, List.of("CN = cse-deny.m2m.example.com"),
                        List.of(cseSan + ", DNS:www.evil.example.org"), "cse", "san.pattern"),
                new Case(cse, "/cse", P256, List.of("CN = cse-deny.m2m.example.com", "O = Someone Else"),
                        List.of(cseSan), "cse", "subject.rdns"),
                new Case(ae, "/ae", List.of("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"),
                        List.of("CN = x"), List.of(aeSan), "ae", "key.type"),
                new Case(ae, "/ae", P256, List.of("CN = //m2m.example.com/CSE3219/C-POLICY-DENY"),
                        List.of(aeSan, "extendedKeyUsage = serverAuth"), "ae", "eku.suids"),
                new Case(ae, "", P256, List.of("CN = //m2m.example.com/CSE3219/C-POLICY-DENY"),
                        List.of(aeSan, "1.2.3.4.5 = critical,ASN1:NULL"), "default", "extensions.unknown-critical"));
        int issued = mef.issued().size();

        for (Case c : cases) {
            byte[] csr = opensslCsr(dir, c.key(), c.dn(), c.ext(), challenge(c.who(), c.label()));
            HttpResponse<String> r = enrol(c.who(), c.label(), csr);

            assertEquals(403, r.statusCode(), c.rule() + ": " + r.body());
            assertEquals("text/plain; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""), c.rule());
            assertTrue(r.body().startsWith("refused by rule " + c.rule() + " of profile " + c.profile() + ": "), r.body());
        }

        assertEquals(issued, mef.issued().size(), "no refusal issued anything");
        String metrics = TestGateway.get(mef.client(null),
                java.net.URI.create("https://127.0.0.1:" + mef.gateway.adminPort() + "/metrics")).body();
        for (Case c : cases) {
            String line = "mef_policy_decisions_total{profile=\"" + c.profile() + "\",result=\"deny\",rule=\"" + c.rule() + "\"}";
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith(line + " ") && !l.endsWith(" 0.0")),
                    line + " in\n" + metrics.lines().filter(l -> l.startsWith("mef_policy")).toList());
        }
    }

    @Test
    void aLabelWithoutAProfileIsUnknownToTheMef() throws Exception {
        HttpResponse<String> r = TestGateway.get(mef.client(null), mef.est("/no-such-label/cacerts"));

        assertEquals(404, r.statusCode(), r.body());
        assertTrue(r.body().contains("no profile serves the EST label 'no-such-label'"), r.body());
    }

    @Test
    void aRuleChangedWhileTheGatewayRunsAppliesAfterReloadAndABadFileChangesNothing(@TempDir Path dir) throws Exception {
        Path policies = mef.config.policyDir();
        Path aeFile = policies.resolve("ae.yaml");
        String original = Files.readString(aeFile);
        AdminClient admin = new AdminClient(mef.config);
        try {
            Files.writeString(aeFile, original.replace("  days: 365", "  days: 20"));
            Files.writeString(policies.resolve("broken.yaml"), "validity:\n  days: soon\n");

            HttpResponse<String> refused = admin.postJson("/admin/policy/reload", "{}");
            assertEquals(422, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("broken.yaml:2: validity.days: must be a whole number"), refused.body());
            assertEquals(Duration.ofDays(365).plusSeconds(60), validityOfANewAeCertificate(dir.resolve("1"), "-1"),
                    "the profiles in use did not change");

            Files.delete(policies.resolve("broken.yaml"));
            HttpResponse<String> reloaded = admin.postJson("/admin/policy/reload", "{}");
            assertEquals(200, reloaded.statusCode(), reloaded.body());
            List<String> audited = mef.gateway.store().auditEvents(0, 100_000).stream().map(e -> e.type()).toList();
            assertTrue(audited.contains("policy.reload-refused") && audited.contains("policy.reloaded"), audited.toString());
            assertTrue(mef.gateway.store().verifyAuditChain().intact());
            assertEquals(Duration.ofDays(20).plusSeconds(60), validityOfANewAeCertificate(dir.resolve("2"), "-2"));
        } finally {
            Files.writeString(aeFile, original);
            Files.deleteIfExists(policies.resolve("broken.yaml"));
            assertEquals(200, admin.postJson("/admin/policy/reload", "{}").statusCode());
        }
    }

    private Duration validityOfANewAeCertificate(Path dir, String suffix) throws Exception {
        Files.createDirectories(dir);
        String aeId = "//m2m.example.com/CSE3219/C-POLICY-RELOAD" + suffix;
        Enrolee ae = register("AE-ID", aeId, 40);
        HttpResponse<String> r = enrol(ae, "/ae",
                opensslCsr(dir, P256, List.of("CN = " + aeId), List.of("subjectAltName = URI:" + aeId), challenge(ae, "/ae")));
        assertEquals(200, r.statusCode(), r.body());
        X509Certificate cert = certificate(r);
        return Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant());
    }
}
