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

    @Test
    void oneM2MDefaultMapsSuids40To45UnderTheProjectArc() {
        Profile p = Profile.oneM2MDefault("default");

        assertEquals("default", p.name());
        assertEquals(ECDSA, p.signatureAlgorithmOids());
        assertEquals(YEAR, p.validity());
        assertEquals(MINUTE, p.backdate());
        assertEquals(Duration.ofMinutes(10), p.challengeLifetime());
        assertEquals(Set.of(40, 41, 42, 43, 44, 45), p.suidEkus().keySet());
        assertEquals(Oids.SUID_EKU_ARC + ".44", p.suidEkus().get(44));
    }

    @Test
    void ekusForListsMappedSuidsInSuidOrderAndSkipsUnmappedOnes() {
        Profile p = new Profile("p", ECDSA, YEAR, MINUTE, Map.of(45, "1.2.45", 40, "1.2.40"), MINUTE);

        assertEquals(List.of("1.2.40", "1.2.45"), p.ekusFor(Set.of(45, 42, 40)));
        assertEquals(List.of(), p.ekusFor(Set.of()));
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("blank name", (Runnable) () -> new Profile(" ", ECDSA, YEAR, MINUTE, Map.of(), MINUTE), "name"),
                Arguments.of("no signature algorithm", (Runnable) () -> new Profile("p", Set.of(), YEAR, MINUTE, Map.of(), MINUTE),
                        "signature algorithm"),
                Arguments.of("signature algorithm not an OID",
                        (Runnable) () -> new Profile("p", Set.of("SHA256withECDSA"), YEAR, MINUTE, Map.of(), MINUTE), "SHA256withECDSA"),
                Arguments.of("zero validity", (Runnable) () -> new Profile("p", ECDSA, Duration.ZERO, MINUTE, Map.of(), MINUTE),
                        "validity"),
                Arguments.of("negative backdate",
                        (Runnable) () -> new Profile("p", ECDSA, YEAR, MINUTE.negated(), Map.of(), MINUTE), "backdate"),
                Arguments.of("zero challenge lifetime",
                        (Runnable) () -> new Profile("p", ECDSA, YEAR, MINUTE, Map.of(), Duration.ZERO), "challenge lifetime"),
                Arguments.of("SUID 39", (Runnable) () -> new Profile("p", ECDSA, YEAR, MINUTE, Map.of(39, "1.2.3"), MINUTE),
                        "SUID 39"),
                Arguments.of("SUID 46", (Runnable) () -> new Profile("p", ECDSA, YEAR, MINUTE, Map.of(46, "1.2.3"), MINUTE),
                        "SUID 46"),
                Arguments.of("EKU not an OID", (Runnable) () -> new Profile("p", ECDSA, YEAR, MINUTE, Map.of(40, "1.02.3"), MINUTE),
                        "1.02.3"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void rejectsInvalidProfileNamingTheField(String name, Runnable construct, String mentions) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construct::run);

        assertTrue(e.getMessage().contains(mentions), () -> "'" + e.getMessage() + "' should mention '" + mentions + "'");
    }

    @Test
    void zeroBackdateIsAllowed() {
        assertEquals(Duration.ZERO, new Profile("p", ECDSA, YEAR, Duration.ZERO, Map.of(), MINUTE).backdate());
    }
}
