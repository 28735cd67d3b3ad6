package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.P256_OTHER;
import static org.mefgateway.policy.TestCsrs.P384;
import static org.mefgateway.policy.TestCsrs.RSA2048;
import static org.mefgateway.policy.TestCsrs.csr;
import static org.mefgateway.policy.TestCsrs.suidEku;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1Boolean;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.math.ec.ECPoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PolicyEngineTest {

    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final Instant CA_NOT_AFTER = NOW.plus(Duration.ofDays(3650));
    static final Profile PROFILE = Profile.oneM2MDefault("onem2m");
    /** RSA signatures allowed, but (as in the default) only P-256 keys. */
    static final Profile PROFILE_WITH_RSA = new Profile("rsa-too", PROFILE.certSubjectTypes(), PROFILE.keys(),
            Set.of(Oids.ECDSA_WITH_SHA256, TestCsrs.SHA256_WITH_RSA), PROFILE.subject(), PROFILE.subjectAltName(),
            PROFILE.eku(), PROFILE.extensions(), PROFILE.validity(), PROFILE.backdate(), PROFILE.challenge(),
            PROFILE.reenrolment(), PROFILE.maxIssuancesPerDay(), PROFILE.approval(), PROFILE.redeliveryWindow(), PROFILE.caKey());

    static final String AE_ID = "//m2m.example.com/CSE3219/C9886";
    static final RegisteredEnrolee AE = new RegisteredEnrolee("ae-1", CertSubjectType.AE_ID, AE_ID, Set.of(40, 43));
    static final IssuedChallenge FRESH = new IssuedChallenge("ae-1", NOW.plus(Duration.ofMinutes(5)), false);

    static EnrolmentContext ctx(RegisteredEnrolee enrolee, Optional<IssuedChallenge> challenge, Instant caNotAfter) {
        return new EnrolmentContext("", "ab".repeat(32), enrolee, challenge, Optional.empty(), Optional.empty(), 0, caNotAfter, NOW);
    }

    static EnrolmentContext ctx() {
        return ctx(AE, Optional.of(FRESH), CA_NOT_AFTER);
    }

    static EnrolmentContext ctx(IssuedChallenge challenge) {
        return ctx(AE, Optional.of(challenge), CA_NOT_AFTER);
    }

    /** The request a well-behaved AE sends: subject and SAN of its AE-ID, one EKU of its SUIDs. */
    static TestCsrs.Builder goodCsr() {
        return csr(P256).subject("CN=" + AE_ID).uri(AE_ID).eku(suidEku(40));
    }

    static Decision decide(Profile profile, CsrFacts csr, EnrolmentContext ctx) {
        return new PolicyEngine(profile).decide(csr, ctx);
    }

    static Stream<Arguments> allowed() {
        RegisteredEnrolee cse = new RegisteredEnrolee("cse-1", CertSubjectType.CSE_ID, "cse3219.m2m.example.com", Set.of(41));
        RegisteredEnrolee node = new RegisteredEnrolee("node-1", CertSubjectType.NODE_ID, "urn:gsma:imei:35-209900-176148-1",
                Set.of());
        return Stream.of(
                Arguments.of("AE with subject, SAN and one EKU of its SUIDs", goodCsr().facts(), ctx()),
                Arguments.of("empty subject", csr(P256).uri(AE_ID).facts(), ctx()),
                Arguments.of("no EKU requested", csr(P256).subject("CN=" + AE_ID).uri(AE_ID).facts(), ctx()),
                Arguments.of("all EKUs of its SUIDs", goodCsr().eku(suidEku(43)).facts(), ctx()),
                Arguments.of("critical keyUsage and basicConstraints cA=FALSE",
                        goodCsr().extension(Oids.KEY_USAGE, true, new KeyUsage(KeyUsage.digitalSignature))
                                .extension(Oids.BASIC_CONSTRAINTS, true, new BasicConstraints(false)).facts(), ctx()),
                Arguments.of("CSE-ID as DNS name, other case",
                        csr(P256).san(GeneralName.dNSName, "CSE3219.m2m.Example.com").eku(suidEku(41)).facts(),
                        ctx(cse, Optional.of(new IssuedChallenge("cse-1", FRESH.expiresAt(), false)), CA_NOT_AFTER)),
                Arguments.of("Node-ID as URN", csr(P256).uri("urn:gsma:imei:35-209900-176148-1").facts(),
                        ctx(node, Optional.of(new IssuedChallenge("node-1", FRESH.expiresAt(), false)), CA_NOT_AFTER)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allowed")
    void issuesACompliantRequest(String name, CsrFacts csr, EnrolmentContext ctx) {
        Decision decision = decide(PROFILE, csr, ctx);

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, decision, () -> "denied: " + decision);
        assertEquals(PROFILE.name(), issue.profile());
        assertEquals(List.of(ctx.enrolee().identity()), issue.template().subjectAltNames());
    }

    /** name, profile, CSR, context, rule id, status, text the reason must contain. */
    static Stream<Arguments> denied() {
        RegisteredEnrolee cse = new RegisteredEnrolee("cse-1", CertSubjectType.CSE_ID, "cse3219.m2m.example.com", Set.of(41));
        return Stream.of(
                Arguments.of("signed by another key", PROFILE, goodCsr().signedBy(P256_OTHER).facts(), ctx(),
                        "csr.signature", "does not verify"),
                Arguments.of("ECDSA with SHA-384", PROFILE, goodCsr().signatureAlgorithm("SHA384withECDSA").facts(), ctx(),
                        "csr.signature-algorithm", TestCsrs.SHA384_WITH_ECDSA),
                Arguments.of("P-384 key", PROFILE, csr(P384).subject("CN=" + AE_ID).uri(AE_ID).facts(), ctx(),
                        "key.type", "secp384r1"),
                Arguments.of("RSA key", PROFILE_WITH_RSA, csr(RSA2048).uri(AE_ID).facts(), ctx(),
                        "key.type", "RSA (2048 bits)"),
                Arguments.of("compressed P-256 point", PROFILE, goodCsr().publicKey(compressed(P256)).facts(), ctx(),
                        "key.type", "uncompressed"),
                Arguments.of("no challengePassword", PROFILE, goodCsr().noChallenge().facts(), ctx(),
                        "challenge.present", "no challengePassword"),
                Arguments.of("challenge the MEF never issued", PROFILE, goodCsr().facts(),
                        ctx(AE, Optional.empty(), CA_NOT_AFTER), "challenge.known", "not one this MEF issued"),
                Arguments.of("challenge of another Enrolee", PROFILE, goodCsr().facts(),
                        ctx(new IssuedChallenge("ae-2", FRESH.expiresAt(), false)), "challenge.enrolee", "not to ae-1"),
                Arguments.of("used challenge", PROFILE, goodCsr().facts(),
                        ctx(new IssuedChallenge("ae-1", FRESH.expiresAt(), true)), "challenge.unused", "already used"),
                Arguments.of("challenge expiring now", PROFILE, goodCsr().facts(),
                        ctx(new IssuedChallenge("ae-1", NOW, false)), "challenge.unexpired", "expired at " + NOW),
                Arguments.of("other subject", PROFILE, csr(P256).subject("CN=someone-else").uri(AE_ID).facts(), ctx(),
                        "subject.identity", "the CSR has CN=someone-else"),
                Arguments.of("subject with extra RDN", PROFILE, csr(P256).subject("O=Acme,CN=" + AE_ID).uri(AE_ID).facts(),
                        ctx(), "subject.identity", "O=Acme"),
                Arguments.of("other AE-ID in SAN", PROFILE, csr(P256).uri("//other").facts(), ctx(),
                        "san.registered-identity",
                        "subjectAltName must include URI://m2m.example.com/CSE3219/C9886 (the registered AE-ID); "
                                + "the CSR has URI://other"),
                Arguments.of("AE-ID as DNS name", PROFILE, csr(P256).san(GeneralName.dNSName, "m2m.example.com").facts(), ctx(),
                        "san.registered-identity", "the CSR has DNS:m2m.example.com"),
                Arguments.of("AE-ID in other case", PROFILE, csr(P256).uri("//M2M.example.com/CSE3219/C9886").facts(), ctx(),
                        "san.registered-identity", "URI://M2M.example.com/CSE3219/C9886"),
                Arguments.of("extra SAN", PROFILE, csr(P256).uri(AE_ID).san(GeneralName.dNSName, "evil.example").facts(), ctx(),
                        "san.count", "allows at most 1 subjectAltName entries; the CSR has 2"),
                Arguments.of("extra SAN instead of the identity", PROFILE,
                        csr(P256).san(GeneralName.dNSName, "evil.example").facts(), ctx(),
                        "san.registered-identity", "the CSR has DNS:evil.example"),
                Arguments.of("no SAN", PROFILE, csr(P256).subject("CN=" + AE_ID).facts(), ctx(),
                        "san.registered-identity", "the CSR has none"),
                Arguments.of("other CSE-ID", PROFILE, csr(P256).san(GeneralName.dNSName, "cse9999.m2m.example.com").facts(),
                        ctx(cse, Optional.of(new IssuedChallenge("cse-1", FRESH.expiresAt(), false)), CA_NOT_AFTER),
                        "san.registered-identity", "DNS:cse3219.m2m.example.com (the registered CSE-ID)"),
                Arguments.of("EKU of a SUID not granted", PROFILE, goodCsr().eku(suidEku(41)).facts(), ctx(),
                        "eku.suids", suidEku(41) + " is not granted"),
                Arguments.of("serverAuth EKU", PROFILE, goodCsr().eku(TestCsrs.SERVER_AUTH).facts(), ctx(),
                        "eku.suids", TestCsrs.SERVER_AUTH),
                Arguments.of("cA=TRUE", PROFILE, goodCsr().ca().facts(), ctx(),
                        "extensions.no-ca", "cA=TRUE"),
                Arguments.of("unknown critical extension", PROFILE,
                        goodCsr().extension("1.2.3.4", true, ASN1Boolean.TRUE).facts(), ctx(),
                        "extensions.unknown-critical", "1.2.3.4"),
                Arguments.of("CA expired", PROFILE, goodCsr().facts(), ctx(AE, Optional.of(FRESH), NOW),
                        "validity.ca-expiry", "expired at " + NOW));
    }

    @ParameterizedTest(name = "{0} -> {4}")
    @MethodSource("denied")
    void deniesWithTheRuleThatIsBroken(String name, Profile profile, CsrFacts csr, EnrolmentContext ctx,
            String ruleId, String reasonMentions) {
        Decision decision = decide(profile, csr, ctx);

        Decision.Deny deny = assertInstanceOf(Decision.Deny.class, decision, () -> "issued: " + decision);
        assertEquals(ruleId, deny.ruleId());
        assertEquals(profile.name(), deny.profile());
        assertTrue(deny.reason().contains(reasonMentions),
                () -> "reason '" + deny.reason() + "' should mention '" + reasonMentions + "'");
    }

    @Test
    void everyRuleHasADenyCaseInTheTable() {
        Set<String> covered = Stream.concat(denied(), PolicyEngineProfilesTest.denied())
                .map(a -> (String) a.get()[4]).collect(Collectors.toSet());
        Set<String> all = PolicyEngine.RULES.stream().map(Rule::id).collect(Collectors.toSet());

        assertEquals(all, covered);
    }

    @Test
    void challengeOfAnotherEnroleeDoesNotNameThatEnrolee() {
        Decision.Deny deny = assertInstanceOf(Decision.Deny.class,
                decide(PROFILE, goodCsr().facts(), ctx(new IssuedChallenge("ae-secret-neighbour", FRESH.expiresAt(), false))));

        assertEquals("challenge.enrolee", deny.ruleId());
        assertFalse(deny.reason().contains("ae-secret-neighbour"), deny.reason());
    }

    @Test
    void firstBrokenRuleInOrderWins() {
        // Broken: signature, challenge, SAN, EKU and cA. Proof of possession is checked first.
        CsrFacts csr = csr(P256).uri("//other").eku(TestCsrs.SERVER_AUTH).ca().noChallenge().signedBy(P256_OTHER).facts();

        assertEquals("csr.signature", ((Decision.Deny) decide(PROFILE, csr, ctx())).ruleId());
    }

    @Test
    void reviewSkipsTheChallengeRulesOnly() {
        // A challenge this MEF never issued: refused on arrival, not looked at again on review.
        CsrFacts csr = goodCsr().facts();
        EnrolmentContext unknownChallenge = ctx(AE, Optional.empty(), CA_NOT_AFTER);
        PolicyEngine engine = new PolicyEngine(PROFILE);

        assertEquals("challenge.known", ((Decision.Deny) engine.decide(csr, unknownChallenge)).ruleId());
        Decision.Issue onArrival = (Decision.Issue) engine.decide(csr, ctx());
        Decision.Issue reviewed = assertInstanceOf(Decision.Issue.class, engine.review(csr, unknownChallenge));
        assertEquals(onArrival.template().subject(), reviewed.template().subject());
        assertEquals(onArrival.template().subjectAltNames(), reviewed.template().subjectAltNames());
        assertEquals(onArrival.template().extendedKeyUsages(), reviewed.template().extendedKeyUsages());
    }

    @Test
    void reviewStillAppliesTheProfileRulesInOrder() {
        PolicyEngine engine = new PolicyEngine(PROFILE);

        assertEquals("csr.signature", ((Decision.Deny) engine.review(goodCsr().signedBy(P256_OTHER).facts(),
                ctx(AE, Optional.empty(), CA_NOT_AFTER))).ruleId());
        assertEquals("eku.suids", ((Decision.Deny) engine.review(goodCsr().eku(TestCsrs.SERVER_AUTH).facts(),
                ctx(AE, Optional.empty(), CA_NOT_AFTER))).ruleId());
    }

    @Test
    void templateCarriesRegisteredIdentityEkusOfAllSuidsAndBackdatedValidity() {
        CsrFacts csr = goodCsr().facts();

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, decide(PROFILE, csr, ctx()));
        CertificateTemplate t = issue.template();

        assertEquals("CN=" + AE_ID, t.subject());
        assertEquals(List.of(new SubjectAltName(SubjectAltName.Kind.URI, AE_ID)), t.subjectAltNames());
        assertEquals(List.of(suidEku(40), suidEku(43)), t.extendedKeyUsages(), "EKUs of all SUIDs, requested or not");
        assertTrue(t.keyUsageDigitalSignature());
        assertEquals(NOW.minus(Duration.ofMinutes(1)), t.notBefore());
        assertEquals(NOW.plus(Duration.ofDays(365)), t.notAfter());
        assertArrayEquals(csr.subjectPublicKeyInfo(), t.subjectPublicKeyInfo());
        assertEquals(List.of(), t.copiedExtensions());
        assertEquals(List.of(), t.crlDistributionPoints());
        assertEquals(List.of(), t.ocspUrls());
        assertEquals(List.of(), t.caIssuersUrls());
    }

    @Test
    void templateValidityIsCappedAtTheCaNotAfter() {
        Instant caNotAfter = NOW.plus(Duration.ofDays(30));

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class,
                decide(PROFILE, goodCsr().facts(), ctx(AE, Optional.of(FRESH), caNotAfter)));

        assertEquals(caNotAfter, issue.template().notAfter());
    }

    @Test
    void templateOfAnEnroleeWithoutMappedSuidsHasNoEku() {
        RegisteredEnrolee noSuids = new RegisteredEnrolee("ae-1", CertSubjectType.AE_ID, AE_ID, Set.of());

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class,
                decide(PROFILE, csr(P256).uri(AE_ID).facts(), ctx(noSuids, Optional.of(FRESH), CA_NOT_AFTER)));

        assertEquals(List.of(), issue.template().extendedKeyUsages());
    }

    @Test
    void subjectSpecialCharactersAreEscapedAndMatchedAsADistinguishedName() {
        String id = "//m2m.example.com/CSE3219/C9886,x+y";
        RegisteredEnrolee ae = new RegisteredEnrolee("ae-1", CertSubjectType.AE_ID, id, Set.of());
        String escaped = "CN=//m2m.example.com/CSE3219/C9886\\,x\\+y";

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class,
                decide(PROFILE, csr(P256).subject(escaped).uri(id).facts(), ctx(ae, Optional.of(FRESH), CA_NOT_AFTER)));

        assertEquals(escaped, issue.template().subject());
    }

    @Test
    void subjectIsComparedAsADistinguishedNameNotAsAString() {
        // CN matches case-insensitively (caseIgnoreMatch); a string comparison would refuse this.
        RegisteredEnrolee cse = new RegisteredEnrolee("cse-1", CertSubjectType.CSE_ID, "cse3219.m2m.example.com", Set.of());
        CsrFacts csr = csr(P256).subject("CN=CSE3219.m2m.example.com").san(GeneralName.dNSName, "cse3219.m2m.example.com")
                .facts();

        Decision decision = decide(PROFILE, csr,
                ctx(cse, Optional.of(new IssuedChallenge("cse-1", FRESH.expiresAt(), false)), CA_NOT_AFTER));

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, decision, () -> "denied: " + decision);
        assertEquals("CN=cse3219.m2m.example.com", issue.template().subject(), "the template uses the registered identity");
    }

    @Test
    void identityTooLongForACommonNameGivesAnEmptySubjectAndStaysInTheSan() {
        String nodeId = "urn:dev:ops:" + "0123456789".repeat(6);
        RegisteredEnrolee node = new RegisteredEnrolee("node-1", CertSubjectType.NODE_ID, nodeId, Set.of(40));

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, decide(PROFILE,
                csr(P256).subject("CN=" + nodeId).uri(nodeId).facts(),
                ctx(node, Optional.of(new IssuedChallenge("node-1", FRESH.expiresAt(), false)), CA_NOT_AFTER)));

        assertTrue(nodeId.length() > 64);
        assertEquals("", issue.template().subject());
        assertEquals(List.of(node.identity()), issue.template().subjectAltNames());
    }

    /** The same P-256 key with its point in compressed form (SEC 1 2.3.3, 0x02/0x03 prefix). */
    static SubjectPublicKeyInfo compressed(java.security.KeyPair keys) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
        ECPoint point = ECNamedCurveTable.getParameterSpec("secp256r1").getCurve()
                .decodePoint(spki.getPublicKeyData().getOctets());
        return new SubjectPublicKeyInfo(spki.getAlgorithm(), point.getEncoded(true));
    }
}
