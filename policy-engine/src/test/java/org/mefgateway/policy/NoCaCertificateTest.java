package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.csr;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Issue 3: "a test that a profile cannot make the gateway issue a CA certificate". */
class NoCaCertificateTest {

    /** As permissive as a profile file can be. */
    static final String MOST_PERMISSIVE_YAML = """
            keys: {ec: [P-256, P-384, P-521], ecUncompressedOnly: false, rsaMinBits: 2048, ed25519: true}
            signatureAlgorithms: [ecdsa-with-SHA256, ecdsa-with-SHA384, sha256WithRSAEncryption, RSASSA-PSS, Ed25519]
            subject: {mode: empty}
            subjectAltName: {bindToRegisteredIdentity: false, types: [DNS, URI, EMAIL, IP], maxCount: 100,
                              patterns: {DNS: '.*', URI: '.*', EMAIL: '.*', IP: '.*'}}
            eku:
              allowed: [serverAuth, clientAuth, codeSigning, emailProtection, 2.5.29.37.0]
            extensions:
              copy: [1.2.3.4, 2.5.29.36, 2.5.29.54, 2.5.29.33, 1.3.6.1.5.5.7.1.3]
              refuseUnlisted: false
            validity: {days: 36500, backdateSeconds: 86400}
            challenge: {required: false, lifetimeSeconds: 2592000}
            reenrolment: {allowRekey: true, renewalWindowDays: 0}
            rateLimit: {maxIssuancesPerDay: 0}
            """;

    static final Instant NOW = PolicyEngineTest.NOW;
    static final RegisteredEnrolee AE = PolicyEngineTest.AE;

    static Profile permissive() {
        try {
            return ProfileFile.parse("anything.yaml", MOST_PERMISSIVE_YAML);
        } catch (ProfileException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    static EnrolmentContext ctx() {
        return new EnrolmentContext("anything", "00".repeat(32), AE, Optional.empty(), Optional.empty(), Optional.empty(), 0,
                NOW.plus(Duration.ofDays(3650)), NOW);
    }

    static Stream<Arguments> caRequests() {
        return Stream.of(
                Arguments.of("cA=TRUE", csr(P256).noChallenge().ca().facts(), "cA=TRUE"),
                Arguments.of("cA=TRUE, critical, pathLen 0", csr(P256).noChallenge()
                        .extension(Oids.BASIC_CONSTRAINTS, true, new BasicConstraints(0)).facts(), "cA=TRUE"),
                Arguments.of("keyUsage keyCertSign", csr(P256).noChallenge()
                        .extension(Oids.KEY_USAGE, false, new KeyUsage(KeyUsage.keyCertSign)).facts(), "keyCertSign"),
                Arguments.of("keyUsage cRLSign", csr(P256).noChallenge()
                        .extension(Oids.KEY_USAGE, true, new KeyUsage(KeyUsage.cRLSign)).facts(), "cRLSign"),
                Arguments.of("keyUsage digitalSignature|keyCertSign, cA=FALSE", csr(P256).noChallenge()
                        .extension(Oids.KEY_USAGE, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign))
                        .extension(Oids.BASIC_CONSTRAINTS, true, new BasicConstraints(false)).facts(), "keyCertSign"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caRequests")
    void theMostPermissiveProfileStillRefusesACaRequest(String name, CsrFacts csr, String mentions) {
        Decision decision = new PolicyEngine(permissive()).decide(csr, ctx());

        Decision.Deny deny = assertInstanceOf(Decision.Deny.class, decision, () -> "issued: " + decision);
        assertEquals("extensions.no-ca", deny.ruleId());
        assertTrue(deny.reason().contains(mentions), deny.reason());
        assertTrue(deny.reason().contains("never a CA"), deny.reason());
    }

    @Test
    void theMostPermissiveProfileIssuesWhatIsNotACaRequest() {
        // Without this, the refusals above could come from a profile that refuses everything.
        CsrFacts csr = csr(P256).noChallenge().subject("O=Whatever")
                .extension(Oids.KEY_USAGE, true, new KeyUsage(KeyUsage.digitalSignature))
                .extension(Oids.BASIC_CONSTRAINTS, true, new BasicConstraints(false))
                .extension("1.2.3.4", true, new org.bouncycastle.asn1.DERUTF8String("copied")).facts();

        Decision decision = new PolicyEngine(permissive()).decide(csr, ctx());

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, decision, () -> "denied: " + decision);
        assertEquals(List.of("1.2.3.4"),
                issue.template().copiedExtensions().stream().map(CsrFacts.RequestedExtension::oid).toList());
    }

    @ParameterizedTest
    @ValueSource(strings = {"2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17", "2.5.29.30", "2.5.29.14", "2.5.29.35",
            "2.5.29.31", "1.3.6.1.5.5.7.1.1", "2.5.29.32"})
    void copyingAnExtensionTheCaControlsIsRefusedAtLoad(String oid) {
        ProfileException e = assertThrows(ProfileException.class, () -> ProfileFile.parse("anything.yaml",
                MOST_PERMISSIVE_YAML.replace("copy: [1.2.3.4,", "copy: [1.2.3.4, " + oid + ",")));

        assertTrue(e.getMessage().startsWith("anything.yaml:9: extensions: extension " + oid + " is written by the CA"),
                e.getMessage());
    }

    @Test
    void theTemplateHasNoFieldThatCouldMakeItACa() {
        // basicConstraints is always cA=FALSE and keyUsage always digitalSignature only: the
        // template cannot say otherwise. A new component here needs a look at this test.
        assertEquals(List.of("subject", "subjectAltNames", "extendedKeyUsages", "keyUsageDigitalSignature", "notBefore",
                        "notAfter", "subjectPublicKeyInfo", "copiedExtensions", "crlDistributionPoints", "ocspUrls",
                        "caIssuersUrls"),
                Arrays.stream(CertificateTemplate.class.getRecordComponents()).map(c -> c.getName()).toList());
    }

    @Test
    void noProfileFieldReachesTheNoCaRule() {
        // The rule reads the CSR only: the same CA request under the default and the most
        // permissive profile gets the same refusal.
        CsrFacts csr = csr(P256).noChallenge().ca().facts();
        for (Profile p : List.of(Profile.oneM2MDefault("default").named("x"), permissive())) {
            assertEquals(Optional.of("the CSR requests basicConstraints cA=TRUE; an Enrolee certificate is never a CA"),
                    PolicyEngine.EXTENSIONS_NO_CA.condition().violation(csr, ctx(), p));
        }
        assertTrue(Set.copyOf(PolicyEngine.RULES).contains(PolicyEngine.EXTENSIONS_NO_CA));
    }
}
