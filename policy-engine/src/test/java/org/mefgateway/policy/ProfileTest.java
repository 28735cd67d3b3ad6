package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProfileTest {

    private static final Set<String> ECDSA = Set.of(Oids.ECDSA_WITH_SHA256);
    private static final Duration YEAR = Duration.ofDays(365);
    private static final Duration MINUTE = Duration.ofMinutes(1);
    private static final Profile D = Profile.oneM2MDefault("d");

    /** The default profile with the fields the old constructor took replaced. */
    static Profile profile(String name, Set<String> signatureAlgorithms, Duration validity, Duration backdate,
            Map<Integer, String> suidEkus, Duration challengeLifetime) {
        return new Profile(name, D.certSubjectTypes(), D.keys(), signatureAlgorithms, D.subject(), D.subjectAltName(),
                new Profile.Ekus(suidEkus, Set.of(), true), D.extensions(), validity, backdate,
                new Profile.Challenge(true, challengeLifetime, false), D.reenrolment(), D.maxIssuancesPerDay(), D.approval(), D.redeliveryWindow(), D.caKey());
    }

    /**
     * Found by fuzzing (PolicyEngineFuzzTest): placeholders were replaced one after the other, so a
     * registered certSubjectID containing "{enroleeId}" got the Enrolee id's quoted pattern inside
     * its own quotes, which ended them early: a PatternSyntaxException (a 500), or the rest of the
     * identity read as regular expression.
     */
    @Test
    void placeholderTextInsideARegisteredValueStaysLiteral() {
        RegisteredEnrolee enrolee = new RegisteredEnrolee("cse-1", CertSubjectType.CSE_ID, "x{enroleeId}.*", Set.of(40));
        java.util.regex.Pattern p = Profile.instantiate("([a-z]+\\.)?{certSubjectId}", enrolee);

        assertTrue(p.matcher("a.x{enroleeId}.*").matches());
        assertTrue(!p.matcher("a.xcse-1anything").matches(), "the identity is a literal, not a pattern");
        assertEquals("URI:x{enroleeId}.*/cse-1", Profile.fill("URI:{certSubjectId}/{enroleeId}", enrolee, v -> v));
    }

    @Test
    void oneM2MDefaultMapsSuids40To45UnderTheProjectArc() {
        Profile p = Profile.oneM2MDefault("default");

        assertEquals("default", p.name());
        assertEquals(ECDSA, p.signatureAlgorithmOids());
        assertEquals(YEAR, p.validity());
        assertEquals(MINUTE, p.backdate());
        assertEquals(Duration.ofMinutes(10), p.challenge().lifetime());
        assertEquals(Set.of(40, 41, 42, 43, 44, 45), p.eku().suidEkus().keySet());
        assertEquals(Oids.SUID_EKU_ARC + ".44", p.eku().suidEkus().get(44));
    }

    @Test
    void oneM2MDefaultIsTheTs0003Profile() {
        Profile p = Profile.oneM2MDefault("default");

        assertEquals(new Profile.Keys(Set.of("secp256r1"), true, 0, false), p.keys());
        assertEquals(Profile.Subject.Mode.IDENTITY, p.subject().mode());
        assertTrue(p.subjectAltName().bindToRegisteredIdentity());
        assertEquals(1, p.subjectAltName().maxCount());
        assertEquals(Set.of(), p.subjectAltName().types());
        assertEquals(List.of(), p.subjectAltName().add());
        assertTrue(p.eku().addSuidEkus());
        assertEquals(Set.of(), p.eku().allowed());
        assertEquals(Set.of(), p.extensions().copy());
        assertTrue(p.extensions().refuseUnlisted());
        assertTrue(p.challenge().required());
        assertEquals(new Profile.Reenrolment(true, Duration.ofDays(30), Profile.ReenrolmentChallenge.ENROLMENT), p.reenrolment());
        assertEquals(10, p.maxIssuancesPerDay());
    }

    @Test
    void oneM2MDefaultLetsOneRequestWaitAndRedeliversForTheChallengeLifetime() {
        Profile p = Profile.oneM2MDefault("default");

        assertEquals(new Profile.Approval(false, MINUTE, 1), p.approval());
        assertEquals(p.challenge().lifetime(), p.redeliveryWindow());
        assertEquals(Duration.ofMinutes(10), p.redeliveryWindow());
    }

    @Test
    void ekusForListsMappedSuidsInSuidOrderAndSkipsUnmappedOnes() {
        Profile p = profile("p", ECDSA, YEAR, MINUTE, Map.of(45, "1.2.45", 40, "1.2.40"), MINUTE);

        assertEquals(List.of("1.2.40", "1.2.45"), p.eku().forSuids(Set.of(45, 42, 40)));
        assertEquals(List.of(), p.eku().forSuids(Set.of()));
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("blank name", (Runnable) () -> profile(" ", ECDSA, YEAR, MINUTE, Map.of(), MINUTE), "name"),
                Arguments.of("no signature algorithm", (Runnable) () -> profile("p", Set.of(), YEAR, MINUTE, Map.of(), MINUTE),
                        "signature algorithm"),
                Arguments.of("signature algorithm not an OID",
                        (Runnable) () -> profile("p", Set.of("SHA256withECDSA"), YEAR, MINUTE, Map.of(), MINUTE), "SHA256withECDSA"),
                Arguments.of("zero validity", (Runnable) () -> profile("p", ECDSA, Duration.ZERO, MINUTE, Map.of(), MINUTE),
                        "validity"),
                Arguments.of("negative backdate",
                        (Runnable) () -> profile("p", ECDSA, YEAR, MINUTE.negated(), Map.of(), MINUTE), "backdate"),
                Arguments.of("zero challenge lifetime",
                        (Runnable) () -> profile("p", ECDSA, YEAR, MINUTE, Map.of(), Duration.ZERO), "challenge lifetime"),
                Arguments.of("SUID 39", (Runnable) () -> profile("p", ECDSA, YEAR, MINUTE, Map.of(39, "1.2.3"), MINUTE),
                        "SUID 39"),
                Arguments.of("SUID 46", (Runnable) () -> profile("p", ECDSA, YEAR, MINUTE, Map.of(46, "1.2.3"), MINUTE),
                        "SUID 46"),
                Arguments.of("EKU not an OID", (Runnable) () -> profile("p", ECDSA, YEAR, MINUTE, Map.of(40, "1.02.3"), MINUTE),
                        "1.02.3"),
                Arguments.of("no key type", (Runnable) () -> new Profile.Keys(Set.of(), true, 0, false), "no key type"),
                Arguments.of("RSA 1024", (Runnable) () -> new Profile.Keys(Set.of(), true, 1024, false), "at least 2048"),
                Arguments.of("unknown curve", (Runnable) () -> new Profile.Keys(Set.of("brainpoolP256r1"), true, 0, false),
                        "unknown curve 'brainpoolP256r1'"),
                Arguments.of("copy basicConstraints",
                        (Runnable) () -> new Profile.Extensions(Set.of(Oids.BASIC_CONSTRAINTS), true, List.of(), List.of(),
                                List.of()), "cannot be copied"),
                Arguments.of("SAN kind OTHER", (Runnable) () -> new Profile.SubjectAltNames(Set.of(SubjectAltName.Kind.OTHER),
                        Map.of(), true, 1, List.of()), "OTHER"),
                Arguments.of("SAN maxCount 0", (Runnable) () -> new Profile.SubjectAltNames(Set.of(), Map.of(), true, 0,
                        List.of()), "maxCount"),
                Arguments.of("CRL URL not http", (Runnable) () -> new Profile.Extensions(Set.of(), true,
                        List.of("file:///etc/passwd"), List.of(), List.of()), "file:///etc/passwd"),
                Arguments.of("RDNS without rdns", (Runnable) () -> new Profile.Subject(Profile.Subject.Mode.RDNS, Map.of()),
                        "at least one"),
                Arguments.of("negative rate limit", (Runnable) () -> new Profile("p", D.certSubjectTypes(), D.keys(), ECDSA, D.subject(),
                        D.subjectAltName(), D.eku(), D.extensions(), YEAR, MINUTE, D.challenge(), D.reenrolment(), -1, D.approval(), D.redeliveryWindow(), D.caKey()),
                        "maxIssuancesPerDay"),
                Arguments.of("empty subject and no SAN at all", (Runnable) () -> new Profile("p", D.certSubjectTypes(), D.keys(), ECDSA,
                        new Profile.Subject(Profile.Subject.Mode.EMPTY, Map.of()),
                        new Profile.SubjectAltNames(Set.of(), Map.of(), false, 1, List.of()), D.eku(), D.extensions(),
                        YEAR, MINUTE, D.challenge(), D.reenrolment(), 0, D.approval(), D.redeliveryWindow(), D.caKey()), "needs a subjectAltName"),
                Arguments.of("caKey not a name", (Runnable) () -> new Profile("p", D.certSubjectTypes(), D.keys(), ECDSA, D.subject(),
                        D.subjectAltName(), D.eku(), D.extensions(), YEAR, MINUTE, D.challenge(), D.reenrolment(), 0, D.approval(),
                        D.redeliveryWindow(), "no such/key"), "caKey"),
                Arguments.of("negative redelivery window", (Runnable) () -> new Profile("p", D.certSubjectTypes(), D.keys(), ECDSA,
                        D.subject(), D.subjectAltName(), D.eku(), D.extensions(), YEAR, MINUTE, D.challenge(), D.reenrolment(), 0,
                        D.approval(), Duration.ofSeconds(-1), D.caKey()), "redelivery window must not be negative"),
                Arguments.of("no pending request allowed", (Runnable) () -> new Profile.Approval(true, MINUTE, 0),
                        "approval maxPendingPerEnrolee must be at least 1, not 0"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void rejectsInvalidProfileNamingTheField(String name, Runnable construct, String mentions) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construct::run);

        assertTrue(e.getMessage().contains(mentions), () -> "'" + e.getMessage() + "' should mention '" + mentions + "'");
    }

    @Test
    void zeroBackdateIsAllowed() {
        assertEquals(Duration.ZERO, profile("p", ECDSA, YEAR, Duration.ZERO, Map.of(), MINUTE).backdate());
    }

    @Test
    void rdnsIterateInSortedOrderSoThatRefusalsAreStable() {
        Profile.Rdn any = new Profile.Rdn(true, ".*");
        Map<String, Profile.Rdn> rdns = new java.util.LinkedHashMap<>();
        rdns.put("serialNumber", any);
        rdns.put("O", any);
        rdns.put("CN", any);
        rdns.put("L", any);

        assertEquals(List.of("CN", "L", "O", "serialNumber"),
                List.copyOf(new Profile.Subject(Profile.Subject.Mode.RDNS, rdns).rdns().keySet()));
    }

    @Test
    void namedKeepsEverythingButTheName() {
        Profile renamed = D.named("other");

        assertEquals("other", renamed.name());
        assertEquals(Profile.oneM2MDefault("other"), renamed);
    }
}
