package org.mefgateway.policy.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.Decision;
import org.mefgateway.policy.EnrolmentContext;
import org.mefgateway.policy.IssuedChallenge;
import org.mefgateway.policy.MalformedCsrException;
import org.mefgateway.policy.Oids;
import org.mefgateway.policy.PolicyEngine;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.policy.ProfileFile;
import org.mefgateway.policy.RegisteredEnrolee;
import org.mefgateway.policy.RuleTable;
import org.mefgateway.policy.SubjectAltName;

/**
 * {@code PolicyEngine.decide} on whatever {@code CsrParser} makes of fuzzed bytes, under the
 * shipped example profiles ({@code ops/config/policies/}) and the oneM2M default. The context is
 * made as favourable as possible (the Enrolee is registered with the CSR's first name, its
 * challenge is valid, and the signature is taken as verified, since a mutated CSR almost never
 * verifies) so that the rules after proof of possession are reached; once with a CA valid for
 * years and once with a CA expiring tomorrow, so that the validity clamp is reached too.
 * Invariants: decide never throws; the same input gives the same decision (the same template
 * field by field, or the same rule and reason); a Deny names one of the engine's rules
 * ({@code PolicyEngine.RULES}), a reason and the engine's profile; an
 * Issue is never for a CSR that asks to be a CA (cA=TRUE, keyCertSign, cRLSign) and never copies
 * basicConstraints or keyUsage, always certifies the CSR's own key, starts before it ends and ends
 * no later than the CA, and has a subject the CA can read back ({@code new X500Name(subject)}).
 */
class PolicyEngineFuzzTest {
    private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    /** A CA valid for years, and one that expires before any profile's validity would end. */
    private static final List<Instant> CA_NOT_AFTER = List.of(NOW.plus(Duration.ofDays(3650)), NOW.plus(Duration.ofDays(1)));
    private static final List<String> RULE_IDS = RuleTable.ids();
    private static final List<PolicyEngine> ENGINES = engines();

    @Timeout(10)
    @FuzzTest
    void decide(byte[] der) {
        CsrFacts parsed;
        try {
            parsed = CsrParser.parse(der);
        } catch (MalformedCsrException refused) {
            return;
        }
        CsrFacts csr = verified(parsed);
        for (RegisteredEnrolee enrolee : enrolees(csr)) {
            for (Instant caNotAfter : CA_NOT_AFTER) {
                EnrolmentContext ctx = new EnrolmentContext("fuzz", "00", enrolee,
                        csr.challengePassword().map(c -> new IssuedChallenge(enrolee.id(), NOW.plusSeconds(60), false)),
                        Optional.empty(), Optional.empty(), 0, caNotAfter, NOW);
                for (PolicyEngine engine : ENGINES) {
                    Decision decision = engine.decide(csr, ctx);
                    check(csr, engine, ctx, decision);
                    // Decided again. (The same bytes parse to the same facts: that is csr-parse's
                    // property, so they are not parsed again here, which would double the time.)
                    assertEquals(Described.decision(decision), Described.decision(engine.decide(csr, ctx)),
                            "the same input gives the same decision under profile " + engine.profile().name());
                }
            }
        }
    }

    private static void check(CsrFacts csr, PolicyEngine engine, EnrolmentContext ctx, Decision decision) {
        assertNotNull(decision);
        if (decision instanceof Decision.Deny deny) {
            assertNotNull(deny.ruleId());
            assertTrue(RULE_IDS.contains(deny.ruleId()), "a refusal names one of the engine's rules: " + deny);
            assertFalse(deny.reason().isBlank(), "a refusal says why: " + deny);
            assertEquals(engine.profile().name(), deny.profile(), "a refusal names the profile that refused");
            return;
        }
        Decision.Issue issue = (Decision.Issue) decision;
        assertEquals(engine.profile().name(), issue.profile());
        assertFalse(csr.requestsCa(), "issued for a CSR requesting basicConstraints cA=TRUE");
        csr.requestedExtension(Oids.KEY_USAGE).ifPresent(ku -> {
            KeyUsage usage = KeyUsage.getInstance(ku.value());
            assertFalse(usage.hasUsages(KeyUsage.keyCertSign) || usage.hasUsages(KeyUsage.cRLSign),
                    "issued for a CSR requesting keyCertSign/cRLSign");
        });
        CertificateTemplate t = issue.template();
        assertFalse(t.copiedExtensions().stream().anyMatch(e -> e.oid().equals(Oids.BASIC_CONSTRAINTS)),
                "basicConstraints copied from a CSR");
        assertFalse(t.copiedExtensions().stream().anyMatch(e -> e.oid().equals(Oids.KEY_USAGE)),
                "keyUsage copied from a CSR (the CA writes digitalSignature only)");
        assertArrayEquals(csr.subjectPublicKeyInfo(), t.subjectPublicKeyInfo(), "the CSR's own key is certified");
        assertFalse(t.notAfter().isAfter(ctx.caNotAfter()), "validity beyond the CA's");
        assertTrue(t.notBefore().isBefore(t.notAfter()), "validity ends before it starts: " + t.notBefore() + " " + t.notAfter());
        try {
            new X500Name(t.subject());  // what CertificateAuthority does with it: a throw there is a 500
        } catch (RuntimeException e) {
            throw new AssertionError("the CA cannot read the subject it is to issue: " + t.subject(), e);
        }
    }

    /** The parsed facts with the signature taken as verified, so that the later rules are reached. */
    private static CsrFacts verified(CsrFacts f) {
        return new CsrFacts(f.subjectPublicKeyInfo(), f.keyAlgorithm(), f.ecCurve(), f.keySizeBits(), f.signatureAlgorithmOid(),
                true, f.subject(), f.subjectAltNames(), f.requestedEkus(), f.requestedExtensions(), f.requestsCa(),
                f.challengePassword());
    }

    /** An Enrolee registered with the CSR's first URI or DNS name (so the binding rules pass), and a fixed one. */
    private static List<RegisteredEnrolee> enrolees(CsrFacts csr) {
        List<RegisteredEnrolee> enrolees = new ArrayList<>();
        for (SubjectAltName san : csr.subjectAltNames()) {
            if (san.kind() == SubjectAltName.Kind.URI) {
                enrolees.add(new RegisteredEnrolee("fuzz-ae", CertSubjectType.AE_ID, san.value(), Set.of(40, 41)));
                break;
            }
            if (san.kind() == SubjectAltName.Kind.DNS) {
                enrolees.add(new RegisteredEnrolee("fuzz-cse", CertSubjectType.CSE_ID, san.value(), Set.of(40, 41)));
                break;
            }
        }
        enrolees.add(new RegisteredEnrolee("fuzz-fixed", CertSubjectType.AE_ID, "//m2m.example.com/CSE1/fuzz", Set.of(40)));
        return enrolees;
    }

    /** The shipped example profiles, and the oneM2M default. */
    private static List<PolicyEngine> engines() {
        List<PolicyEngine> engines = new ArrayList<>();
        engines.add(new PolicyEngine(Profile.oneM2MDefault("default")));
        Path dir = Path.of(System.getProperty("mef.policies", "../ops/config/policies"));
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.sorted().filter(p -> p.toString().endsWith(".yaml")).toList()) {
                engines.add(new PolicyEngine(ProfileFile.parse(file.getFileName().toString(), Files.readString(file))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("the example profiles in " + dir.toAbsolutePath() + " cannot be read", e);
        } catch (ProfileException e) {
            throw new IllegalStateException("an example profile is invalid: " + e.getMessage(), e);
        }
        return engines;
    }
}
