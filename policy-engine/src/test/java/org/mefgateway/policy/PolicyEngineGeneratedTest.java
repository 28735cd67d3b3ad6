package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.Test;

/**
 * Random combinations of what an Enrolee can get wrong, each with the expected outcome worked
 * out here, independently of the engine: it issues exactly when every condition holds, and
 * otherwise names the first broken rule in the documented order.
 */
class PolicyEngineGeneratedTest {

    private static final int CASES = 400;
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    /** The oneM2M default with RSA signatures allowed, so that an RSA key is refused by key.type. */
    private static final Profile PROFILE = PolicyEngineTest.PROFILE_WITH_RSA.named("generated");

    enum Key { P256, P384, RSA2048 }
    enum San { RIGHT, WRONG, EXTRA, MISSING }
    enum Ekus { SUBSET, OUTSIDE }
    enum Challenge { OK, USED, EXPIRED, OTHER_ENROLEE, UNKNOWN, ABSENT }

    private static final Map<Key, KeyPair> KEYS = new EnumMap<>(Map.of(
            Key.P256, TestCsrs.P256, Key.P384, TestCsrs.P384, Key.RSA2048, TestCsrs.RSA2048));

    @Test
    void issuesIffEveryConditionHoldsAndNeverBeyondTheRegistration() {
        Random random = new Random(8_3_6);
        PolicyEngine engine = new PolicyEngine(PROFILE);
        Map<String, Integer> outcomes = new TreeMap<>();

        for (int i = 0; i < CASES; i++) {
            CertSubjectType type = pick(random, CertSubjectType.values());
            String id = switch (type) {
                case AE_ID -> "//m2m.example.com/CSE3219/C" + i;
                case CSE_ID -> "cse" + i + ".m2m.example.com";
                case NODE_ID -> "urn:gsma:imei:35-209900-" + i;
            };
            Set<Integer> suids = new HashSet<>();
            for (int suid = 40; suid <= 45; suid++) {
                if (random.nextBoolean()) {
                    suids.add(suid);
                }
            }
            RegisteredEnrolee enrolee = new RegisteredEnrolee("enrolee-" + i, type, id, suids);
            Key key = mostlyFirst(random, Key.values());
            San san = mostlyFirst(random, San.values());
            Ekus ekus = mostlyFirst(random, Ekus.values());
            boolean ca = random.nextInt(4) == 0;
            Challenge challenge = mostlyFirst(random, Challenge.values());
            String description = "case " + i + ": " + type + " " + key + " SAN " + san + " EKUs " + ekus
                    + " ca=" + ca + " challenge " + challenge + " SUIDs " + suids;

            TestCsrs.Builder builder = TestCsrs.csr(KEYS.get(key));
            if (random.nextBoolean()) {
                builder.subject("CN=" + id);
            }
            addSans(builder, san, enrolee);
            List<String> granted = new ArrayList<>();
            for (int suid : suids) {
                granted.add(TestCsrs.suidEku(suid));
            }
            for (String eku : granted) {
                if (random.nextBoolean()) {
                    builder.eku(eku);
                }
            }
            if (ekus == Ekus.OUTSIDE) {
                Optional<Integer> ungranted = List.of(40, 41, 42, 43, 44, 45).stream().filter(s -> !suids.contains(s)).findAny();
                builder.eku(ungranted.map(TestCsrs::suidEku).orElse(TestCsrs.SERVER_AUTH));
            }
            if (ca) {
                builder.ca();
            }
            if (challenge == Challenge.ABSENT) {
                builder.noChallenge();
            }

            String expected = expectedRule(key, challenge, san, ekus, ca);
            Decision decision = engine.decide(builder.facts(), context(enrolee, challenge));

            if (expected == null) {
                assertTrue(decision instanceof Decision.Issue, () -> description + ": expected issue, got " + decision);
                CertificateTemplate t = ((Decision.Issue) decision).template();
                assertEquals(List.of(enrolee.identity()), t.subjectAltNames(), description);
                assertTrue(granted.containsAll(t.extendedKeyUsages()), description);
                assertEquals(PROFILE.eku().forSuids(suids), t.extendedKeyUsages(), description);
                assertFalse(ca, description + ": a CA request was issued");
            } else {
                assertTrue(decision instanceof Decision.Deny, () -> description + ": expected " + expected + ", got " + decision);
                assertEquals(expected, ((Decision.Deny) decision).ruleId(), description);
            }
            outcomes.merge(expected == null ? "issue" : expected, 1, Integer::sum);
        }

        assertTrue(outcomes.get("issue") >= 20, outcomes.toString());
        // The seed must exercise both outcomes and every generated failure, or the test proves little.
        assertEquals(Set.of("issue", "key.type", "challenge.present", "challenge.known", "challenge.enrolee",
                "challenge.unused", "challenge.unexpired", "san.registered-identity", "san.count", "eku.suids", "extensions.no-ca"),
                outcomes.keySet(), outcomes.toString());
    }

    /** The first condition that fails, in the order the engine documents; null when all hold. */
    private static String expectedRule(Key key, Challenge challenge, San san, Ekus ekus, boolean ca) {
        if (key != Key.P256) {
            return "key.type";
        }
        switch (challenge) {
            case ABSENT: return "challenge.present";
            case UNKNOWN: return "challenge.known";
            case OTHER_ENROLEE: return "challenge.enrolee";
            case USED: return "challenge.unused";
            case EXPIRED: return "challenge.unexpired";
            case OK: break;
        }
        if (san == San.WRONG || san == San.MISSING) {
            return "san.registered-identity";
        }
        if (san == San.EXTRA) {
            return "san.count";
        }
        if (ekus != Ekus.SUBSET) {
            return "eku.suids";
        }
        if (ca) {
            return "extensions.no-ca";
        }
        return null;
    }

    private static void addSans(TestCsrs.Builder builder, San san, RegisteredEnrolee enrolee) {
        int tag = enrolee.type().sanKind() == SubjectAltName.Kind.DNS ? GeneralName.dNSName : GeneralName.uniformResourceIdentifier;
        switch (san) {
            case RIGHT -> builder.san(tag, enrolee.certSubjectId());
            case WRONG -> builder.san(tag, enrolee.certSubjectId() + "0");
            case EXTRA -> builder.san(tag, enrolee.certSubjectId()).san(GeneralName.dNSName, "extra.example.com");
            case MISSING -> {
            }
        }
    }

    private static EnrolmentContext context(RegisteredEnrolee enrolee, Challenge challenge) {
        Instant fresh = NOW.plus(Duration.ofMinutes(5));
        Optional<IssuedChallenge> issued = switch (challenge) {
            case OK, ABSENT -> Optional.of(new IssuedChallenge(enrolee.id(), fresh, false));
            case USED -> Optional.of(new IssuedChallenge(enrolee.id(), fresh, true));
            case EXPIRED -> Optional.of(new IssuedChallenge(enrolee.id(), NOW.minusSeconds(1), false));
            case OTHER_ENROLEE -> Optional.of(new IssuedChallenge("someone-else", fresh, false));
            case UNKNOWN -> Optional.empty();
        };
        return new EnrolmentContext("", "00".repeat(32), enrolee, issued, Optional.empty(), Optional.empty(), 0, NOW.plus(Duration.ofDays(3650)), NOW);
    }

    private static <T> T pick(Random random, T[] values) {
        return values[random.nextInt(values.length)];
    }

    /**
     * The compliant value (listed first) with probability 0.6, else any other: with uniform
     * choices only one case in ~200 would comply with everything and "issues iff" would be
     * tested on a handful of issues.
     */
    private static <T> T mostlyFirst(Random random, T[] values) {
        return random.nextInt(10) < 6 ? values[0] : values[1 + random.nextInt(values.length - 1)];
    }
}
