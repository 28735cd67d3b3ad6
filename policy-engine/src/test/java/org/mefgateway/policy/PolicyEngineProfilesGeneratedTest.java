package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.OtherName;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.junit.jupiter.api.Test;

/**
 * Random CSRs (keys incl. compressed points and RSA-1024, subjects, SANs, EKUs, extensions incl.
 * cA=TRUE, keyCertSign and unknown critical ones, challenge states, rate counts), as first
 * enrolments or as re-enrolments of a certificate with the CSR's names and key, against random
 * profiles parsed from YAML, including permissive ones. The expected verdict is worked out here
 * from what the generator chose and from a description of each profile written next to its
 * YAML, never by calling a rule: the engine must name exactly the first broken rule, and so can
 * never issue a CSR that breaks one. Every Issue is also checked not to be a CA.
 */
class PolicyEngineProfilesGeneratedTest {

    private static final long SEED = 0x3_0003_836L;
    private static final int CASES = 3000;
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    private static final String SAN = Oids.SUBJECT_ALT_NAME;
    private static final String EKU = Oids.EXTENDED_KEY_USAGE;
    private static final String KU = Oids.KEY_USAGE;
    private static final String BC = Oids.BASIC_CONSTRAINTS;
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
    private static final Set<String> CA_CONTROLLED = Set.of("2.5.29.17", "2.5.29.37", "2.5.29.15", "2.5.29.19",
            "2.5.29.14", "2.5.29.35", "2.5.29.31", "1.3.6.1.5.5.7.1.1", "2.5.29.30", "2.5.29.32");

    enum Mode { IDENTITY, EMPTY, RDNS }

    /** What the test believes a profile file says, written by hand next to the file. */
    record Spec(String file, String yaml, Set<String> curves, boolean uncompressedOnly, int rsaMinBits,
                Set<String> signatureAlgorithms, Mode mode, boolean bind, int maxCount, Set<SubjectAltName.Kind> types,
                Map<SubjectAltName.Kind, String> patterns, Set<String> allowedEkus, Set<String> copy,
                boolean refuseUnlisted, boolean challengeRequired, int maxPerDay, boolean reenrolmentWithoutChallenge,
                int maxPendingPerEnrolee, Duration redeliveryWindow) {
    }

    private static final Spec DEFAULT = new Spec("default.yaml", "", Set.of("secp256r1"), true, 0,
            Set.of(Oids.ECDSA_WITH_SHA256), Mode.IDENTITY, true, 1, Set.of(), Map.of(), Set.of(), Set.of(), true, true, 10,
            false, 1, Duration.ofMinutes(10));

    private static final Spec PERMISSIVE = new Spec("open.yaml", """
            keys: {ec: [P-256, P-384, P-521], ecUncompressedOnly: false, rsaMinBits: 2048, ed25519: true}
            signatureAlgorithms: [ecdsa-with-SHA256, ecdsa-with-SHA384, sha256WithRSAEncryption, Ed25519]
            subject: {mode: empty}
            subjectAltName: {bindToRegisteredIdentity: false, types: [DNS, URI, EMAIL, IP], maxCount: 100,
                              patterns: {DNS: '.*', URI: '.*', EMAIL: '.*', IP: '.*'}}
            eku: {allowed: [serverAuth, clientAuth, codeSigning, emailProtection], addSuidEkus: false}
            extensions: {copy: [1.2.3.4, 1.2.3.9], refuseUnlisted: false}
            challenge: {required: false}
            reenrolment: {challenge: none}
            rateLimit: {maxIssuancesPerDay: 0}
            approval: {maxPendingPerEnrolee: 100}
            redelivery: {windowSeconds: 0}
            """, Set.of("secp256r1", "secp384r1", "secp521r1"), false, 2048,
            Set.of(Oids.ECDSA_WITH_SHA256, Oids.ECDSA_WITH_SHA384, Oids.SHA256_WITH_RSA, Oids.ED25519), Mode.EMPTY, false, 100,
            Set.of(SubjectAltName.Kind.DNS, SubjectAltName.Kind.URI, SubjectAltName.Kind.EMAIL, SubjectAltName.Kind.IP),
            Map.of(), Set.of(SERVER_AUTH, CLIENT_AUTH, CODE_SIGNING, "1.3.6.1.5.5.7.3.4"), Set.of("1.2.3.4", "1.2.3.9"),
            false, false, 0, true, 100, Duration.ZERO);

    private static final Spec RDNS = new Spec("cse.yaml", """
            keys: {ec: [P-256, P-384]}
            signatureAlgorithms: [ecdsa-with-SHA256, ecdsa-with-SHA384]
            subject:
              mode: rdns
              rdns:
                CN: {required: true, pattern: '{certSubjectId}'}
                O: {pattern: 'Acme( Corp)?'}
            subjectAltName:
              types: [DNS, IP]
              patterns: {DNS: '([a-z0-9-]+\\.)+{certSubjectId}', IP: '.*'}
              maxCount: 3
            eku: {allowed: [serverAuth, clientAuth]}
            extensions: {copy: [1.2.3.4]}
            challenge: {lifetimeSeconds: 900}
            reenrolment: {challenge: none}
            rateLimit: {maxIssuancesPerDay: 5}
            approval: {required: true, maxPendingPerEnrolee: 3}
            """, Set.of("secp256r1", "secp384r1"), true, 0, Set.of(Oids.ECDSA_WITH_SHA256, Oids.ECDSA_WITH_SHA384),
            Mode.RDNS, true, 3, Set.of(SubjectAltName.Kind.DNS, SubjectAltName.Kind.IP),
            Map.of(SubjectAltName.Kind.DNS, "([a-z0-9-]+\\.)+{certSubjectId}"), Set.of(SERVER_AUTH, CLIENT_AUTH),
            Set.of("1.2.3.4"), true, true, 5, true, 3, Duration.ofSeconds(900));

    private static final Spec RSA = new Spec("rsa.yaml", """
            keys: {ec: [P-256], rsaMinBits: 2048}
            signatureAlgorithms: [ecdsa-with-SHA256, sha256WithRSAEncryption]
            challenge: {required: false}
            reenrolment: {challenge: enrolment}
            redelivery: {windowSeconds: 3600}
            """, Set.of("secp256r1"), true, 2048, Set.of(Oids.ECDSA_WITH_SHA256, Oids.SHA256_WITH_RSA), Mode.IDENTITY, true,
            1, Set.of(), Map.of(), Set.of(), Set.of(), true, false, 10, false, 1, Duration.ofHours(1));

    private static final List<Spec> SPECS = List.of(DEFAULT, PERMISSIVE, RDNS, RSA);

    enum Key { P256, P256_COMPRESSED, P384, P384_COMPRESSED, P521, RSA1024, RSA2048, ED25519 }
    enum Subject { EMPTY, CN_ID, CN_OTHER, O_ACME_CN_ID, O_EVIL_CN_ID, OU_CN_ID }
    enum Challenge { OK, ABSENT, UNKNOWN, OTHER_ENROLEE, USED, EXPIRED }
    enum KeyUsages { NONE, DIGITAL_SIGNATURE, KEY_CERT_SIGN, CRL_SIGN, DIGITAL_SIGNATURE_AND_KEY_CERT_SIGN }
    enum Basic { NONE, NOT_CA, CA }

    /** One requested extension besides SAN/EKU/keyUsage/basicConstraints. */
    record Other(String oid, boolean critical) {
    }

    @Test
    void neverIssuesACsrThatBreaksARuleNorACertificateThatIsACa() throws ProfileException {
        Map<Spec, PolicyEngine> engines = new LinkedHashMap<>();
        for (Spec spec : SPECS) {
            Profile profile = ProfileFile.parse(spec.file(), spec.yaml());
            // The fields the engine does not decide on: the file must still say what the test believes.
            assertEquals(spec.reenrolmentWithoutChallenge() ? Profile.ReenrolmentChallenge.NONE
                    : Profile.ReenrolmentChallenge.ENROLMENT, profile.reenrolment().challenge(), spec.file());
            assertEquals(spec.maxPendingPerEnrolee(), profile.approval().maxPendingPerEnrolee(), spec.file());
            assertEquals(spec.redeliveryWindow(), profile.redeliveryWindow(), spec.file());
            engines.put(spec, new PolicyEngine(profile));
        }
        Random random = new Random(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        Map<String, Integer> issuesPerProfile = new TreeMap<>();
        int issuedWithAWaivedChallenge = 0;

        for (int i = 0; i < CASES; i++) {
            Spec spec = SPECS.get(random.nextInt(SPECS.size()));
            CertSubjectType type = CertSubjectType.values()[random.nextInt(3)];
            String id = switch (type) {
                case AE_ID -> "//m2m.example.com/CSE3219/C" + i;
                case CSE_ID -> "cse" + i + ".m2m.example.com";
                case NODE_ID -> "urn:gsma:imei:35-209900-" + i;
            };
            Set<Integer> suids = new HashSet<>();
            for (int suid = 40; suid <= 45; suid++) {
                if (random.nextInt(3) == 0) {
                    suids.add(suid);
                }
            }
            RegisteredEnrolee enrolee = new RegisteredEnrolee("enrolee." + i, type, id, suids);

            Key key = weighted(random, Key.values(), 60);
            boolean sha384 = key.name().startsWith("P") && random.nextInt(6) == 0;
            boolean badSignature = random.nextInt(40) == 0;
            Subject subject = random.nextInt(2) == 0 ? Subject.CN_ID : weighted(random, Subject.values(), 30);
            Challenge challenge = weighted(random, Challenge.values(), 70);
            KeyUsages keyUsage = weighted(random, KeyUsages.values(), 75);
            Basic basic = weighted(random, Basic.values(), 80);
            boolean basicCritical = random.nextBoolean();
            int issuedLastDay = random.nextInt(4) == 0 ? random.nextInt(12) : 0;
            boolean caExpired = random.nextInt(40) == 0;

            SubjectAltName identity = enrolee.identity();
            SubjectAltName.Kind otherKind = identity.kind() == SubjectAltName.Kind.DNS ? SubjectAltName.Kind.URI
                    : SubjectAltName.Kind.DNS;
            List<SubjectAltName> sans = new ArrayList<>();
            boolean otherName = false;
            maybe(random, 75, sans, identity);
            maybe(random, 8, sans, new SubjectAltName(identity.kind(), id + "0"));
            maybe(random, 5, sans, new SubjectAltName(otherKind, id));
            maybe(random, 20, sans, new SubjectAltName(SubjectAltName.Kind.DNS, "gw." + id));
            maybe(random, 6, sans, new SubjectAltName(SubjectAltName.Kind.DNS, "gw." + id.replace('.', 'x')));
            maybe(random, 8, sans, new SubjectAltName(SubjectAltName.Kind.DNS, "host.example.com"));
            maybe(random, 10, sans, new SubjectAltName(SubjectAltName.Kind.IP, "192.0.2.1"));
            maybe(random, 5, sans, new SubjectAltName(SubjectAltName.Kind.EMAIL, "ops@example.com"));
            if (random.nextInt(40) == 0) {
                otherName = true;
            }

            List<String> granted = Profile.defaultSuidEkus().entrySet().stream()
                    .filter(e -> suids.contains(e.getKey())).map(Map.Entry::getValue).toList();
            List<String> ekus = new ArrayList<>();
            for (int suid = 40; suid <= 45; suid++) {
                if (random.nextInt(100) < (suids.contains(suid) ? 30 : 4)) {
                    ekus.add(TestCsrs.suidEku(suid));
                }
            }
            maybe(random, 10, ekus, SERVER_AUTH);
            maybe(random, 10, ekus, CLIENT_AUTH);
            maybe(random, 4, ekus, CODE_SIGNING);

            List<Other> others = new ArrayList<>();
            maybe(random, 10, others, new Other("1.2.3.4", random.nextBoolean()));
            maybe(random, 8, others, new Other("1.2.3.9", random.nextBoolean()));
            maybe(random, 6, others, new Other("1.2.3.5", random.nextBoolean()));
            maybe(random, 4, others, new Other(Oids.CERTIFICATE_POLICIES, false));
            boolean renewal = random.nextInt(3) == 0;

            // --- the CSR ---
            TestCsrs.Builder b = TestCsrs.csr(keyPair(key));
            if (key == Key.P256_COMPRESSED || key == Key.P384_COMPRESSED) {
                b.publicKey(PolicyEngineProfilesTest.compressed(keyPair(key),
                        key == Key.P256_COMPRESSED ? "secp256r1" : "secp384r1"));
            }
            if (sha384) {
                b.signatureAlgorithm("SHA384withECDSA");
            }
            if (badSignature) {
                b.signedBy(TestCsrs.P256_OTHER).signatureAlgorithm("SHA256withECDSA");
            }
            switch (subject) {
                case EMPTY -> { }
                case CN_ID -> b.subject("CN=" + id);
                case CN_OTHER -> b.subject("CN=someone.else");
                case O_ACME_CN_ID -> b.subject("O=Acme,CN=" + id);
                case O_EVIL_CN_ID -> b.subject("O=Evil,CN=" + id);
                case OU_CN_ID -> b.subject("OU=Lab,CN=" + id);
            }
            for (SubjectAltName san : sans) {
                b.san(switch (san.kind()) {
                    case DNS -> GeneralName.dNSName;
                    case URI -> GeneralName.uniformResourceIdentifier;
                    case EMAIL -> GeneralName.rfc822Name;
                    case IP -> GeneralName.iPAddress;
                    case OTHER -> throw new AssertionError();
                }, san.value());
            }
            if (otherName) {
                b.san(new GeneralName(GeneralName.otherName,
                        new OtherName(new ASN1ObjectIdentifier("1.2.3.7"), new DERUTF8String("x"))));
            }
            ekus.forEach(b::eku);
            boolean caUsage = keyUsage == KeyUsages.KEY_CERT_SIGN || keyUsage == KeyUsages.CRL_SIGN
                    || keyUsage == KeyUsages.DIGITAL_SIGNATURE_AND_KEY_CERT_SIGN;
            switch (keyUsage) {
                case NONE -> { }
                case DIGITAL_SIGNATURE -> b.extension(KU, true, new KeyUsage(KeyUsage.digitalSignature));
                case KEY_CERT_SIGN -> b.extension(KU, true, new KeyUsage(KeyUsage.keyCertSign));
                case CRL_SIGN -> b.extension(KU, false, new KeyUsage(KeyUsage.cRLSign));
                case DIGITAL_SIGNATURE_AND_KEY_CERT_SIGN ->
                        b.extension(KU, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign));
            }
            switch (basic) {
                case NONE -> { }
                case NOT_CA -> b.extension(BC, basicCritical, new BasicConstraints(false));
                case CA -> b.extension(BC, basicCritical, new BasicConstraints(true));
            }
            for (Other o : others) {
                b.extension(o.oid(), o.critical(), new DERUTF8String("value of " + o.oid()));
            }
            if (challenge == Challenge.ABSENT) {
                b.noChallenge();
            }

            // --- what the test expects, from its own reading of the rules ---
            List<SubjectAltName> allSans = new ArrayList<>(sans);
            if (otherName) {
                allSans.add(new SubjectAltName(SubjectAltName.Kind.OTHER, "otherName 1.2.3.7"));
            }
            Set<String> requested = new HashSet<>();
            if (!allSans.isEmpty()) {
                requested.add(SAN);
            }
            if (!ekus.isEmpty()) {
                requested.add(EKU);
            }
            if (keyUsage != KeyUsages.NONE) {
                requested.add(KU);
            }
            if (basic != Basic.NONE) {
                requested.add(BC);
            }
            Set<String> critical = new HashSet<>();
            if (keyUsage == KeyUsages.DIGITAL_SIGNATURE || keyUsage == KeyUsages.KEY_CERT_SIGN
                    || keyUsage == KeyUsages.DIGITAL_SIGNATURE_AND_KEY_CERT_SIGN) {
                critical.add(KU);
            }
            if (basic != Basic.NONE && basicCritical) {
                critical.add(BC);
            }
            for (Other o : others) {
                requested.add(o.oid());
                if (o.critical()) {
                    critical.add(o.oid());
                }
            }
            String expected = expected(spec, enrolee, key, sha384, badSignature, challenge, renewal, subject, allSans, ekus,
                    granted, basic == Basic.CA || caUsage, requested, critical, caExpired, issuedLastDay);

            String description = "case " + i + " " + spec.file() + ": " + type + " " + key + (sha384 ? "/SHA384" : "")
                    + (badSignature ? " bad-signature" : "") + " subject " + subject + " challenge " + challenge
                    + " SANs " + allSans + " EKUs " + ekus + " keyUsage " + keyUsage + " basic " + basic
                    + " others " + others + " SUIDs " + suids + " lastDay " + issuedLastDay + " caExpired " + caExpired
                    + (renewal ? " re-enrolment" : "");

            CsrFacts facts = b.facts();
            // The certificate being renewed has the names and the key the CSR asks for, so that the
            // reenrol.* rules hold (PolicyEngineProfilesTest breaks them) and only the challenge differs.
            Optional<CurrentCertificate> current = renewal
                    ? Optional.of(new CurrentCertificate(facts.subject(), facts.subjectAltNames(), facts.subjectPublicKeyInfo(),
                            NOW.plus(Duration.ofDays(10))))
                    : Optional.empty();
            Decision decision = engines.get(spec).decide(facts, context(enrolee, challenge, current, issuedLastDay, caExpired));

            if (expected == null) {
                assertTrue(decision instanceof Decision.Issue, () -> description + ": expected issue, got " + decision);
                CertificateTemplate t = ((Decision.Issue) decision).template();
                assertFalse(basic == Basic.CA || caUsage, description + ": a CA request was issued");
                assertTrue(t.keyUsageDigitalSignature(), description);
                for (CsrFacts.RequestedExtension copied : t.copiedExtensions()) {
                    assertFalse(CA_CONTROLLED.contains(copied.oid()), description + ": copied " + copied.oid());
                    assertTrue(spec.copy().contains(copied.oid()), description + ": copied " + copied.oid());
                }
                for (String eku : t.extendedKeyUsages()) {
                    assertTrue(granted.contains(eku) || spec.allowedEkus().contains(eku), description + ": EKU " + eku);
                }
                if (spec.bind()) {
                    assertEquals(identity, t.subjectAltNames().get(0), description);
                }
                issuesPerProfile.merge(spec.file(), 1, Integer::sum);
                if (renewal && spec.reenrolmentWithoutChallenge() && challenge != Challenge.OK
                        && (challenge != Challenge.ABSENT || spec.challengeRequired())) {
                    issuedWithAWaivedChallenge++;
                }
            } else {
                assertTrue(decision instanceof Decision.Deny, () -> description + ": expected " + expected + ", got " + decision);
                assertEquals(expected, ((Decision.Deny) decision).ruleId(),
                        () -> description + ": " + ((Decision.Deny) decision).reason());
            }
            outcomes.merge(expected == null ? "issue" : expected, 1, Integer::sum);
        }

        // The seed must reach every rule the generator can break, and issue under every profile.
        Set<String> reachable = new HashSet<>(PolicyEngine.RULES.stream().map(Rule::id).toList());
        reachable.removeAll(Set.of("reenrol.same-names", "reenrol.rekey", "reenrol.window", "enrolee.type",
                "challenge.channel-binding"));
        reachable.add("issue");
        assertEquals(new TreeMap<>(reachable.stream().collect(java.util.stream.Collectors.toMap(r -> r, r -> 0))).keySet(),
                outcomes.keySet(), outcomes.toString());
        for (Spec spec : SPECS) {
            assertTrue(issuesPerProfile.getOrDefault(spec.file(), 0) >= 15, issuesPerProfile.toString());
        }
        // ... and issue re-enrolments whose challenge would have refused a first enrolment.
        assertTrue(issuedWithAWaivedChallenge >= 10, "issued with a waived challenge: " + issuedWithAWaivedChallenge);
    }

    /** The first rule broken, in the documented order; null when none is. */
    private static String expected(Spec spec, RegisteredEnrolee enrolee, Key key, boolean sha384, boolean badSignature,
            Challenge challenge, boolean renewal, Subject subject, List<SubjectAltName> sans, List<String> ekus,
            List<String> granted, boolean requestsCa, Set<String> requested, Set<String> critical, boolean caExpired,
            int issuedLastDay) {
        if (badSignature) {
            return "csr.signature";
        }
        String signature = badSignature ? Oids.ECDSA_WITH_SHA256
                : key == Key.ED25519 ? Oids.ED25519
                : key.name().startsWith("RSA") ? Oids.SHA256_WITH_RSA
                : sha384 ? Oids.ECDSA_WITH_SHA384 : Oids.ECDSA_WITH_SHA256;
        if (!spec.signatureAlgorithms().contains(signature)) {
            return "csr.signature-algorithm";
        }
        boolean keyOk = switch (key) {
            case P256 -> spec.curves().contains("secp256r1");
            case P256_COMPRESSED -> spec.curves().contains("secp256r1") && !spec.uncompressedOnly();
            case P384 -> spec.curves().contains("secp384r1");
            case P384_COMPRESSED -> spec.curves().contains("secp384r1") && !spec.uncompressedOnly();
            case P521 -> spec.curves().contains("secp521r1");
            case RSA1024 -> spec.rsaMinBits() > 0 && 1024 >= spec.rsaMinBits();
            case RSA2048 -> spec.rsaMinBits() > 0 && 2048 >= spec.rsaMinBits();
            case ED25519 -> spec == PERMISSIVE;
        };
        if (!keyOk) {
            return "key.type";
        }
        // reenrolment.challenge none: on a re-enrolment the certificate being renewed is the proof.
        boolean challengeApplies = !renewal || !spec.reenrolmentWithoutChallenge();
        switch (challengeApplies ? challenge : Challenge.OK) {
            case ABSENT: if (spec.challengeRequired()) { return "challenge.present"; } break;
            case UNKNOWN: return "challenge.known";
            case OTHER_ENROLEE: return "challenge.enrolee";
            case USED: return "challenge.unused";
            case EXPIRED: return "challenge.unexpired";
            case OK: break;
        }
        if (spec.mode() == Mode.IDENTITY && subject != Subject.EMPTY && subject != Subject.CN_ID) {
            return "subject.identity";
        }
        if (spec.mode() == Mode.RDNS && subject != Subject.CN_ID && subject != Subject.O_ACME_CN_ID) {
            return "subject.rdns";
        }
        SubjectAltName identity = enrolee.identity();
        if (spec.bind() && !sans.contains(identity)) {
            return "san.registered-identity";
        }
        if (sans.size() > spec.maxCount()) {
            return "san.count";
        }
        List<SubjectAltName> others = sans.stream().filter(s -> !spec.bind() || !s.equals(identity)).toList();
        if (others.stream().anyMatch(s -> !spec.types().contains(s.kind()))) {
            return "san.type";
        }
        for (SubjectAltName s : others) {
            String pattern = spec.patterns().get(s.kind());
            if (pattern != null && !Pattern.compile(pattern.replace("{certSubjectId}", Pattern.quote(enrolee.certSubjectId())))
                    .matcher(s.value()).matches()) {
                return "san.pattern";
            }
        }
        if (ekus.stream().anyMatch(e -> !granted.contains(e) && !spec.allowedEkus().contains(e))) {
            return "eku.suids";
        }
        if (requestsCa) {
            return "extensions.no-ca";
        }
        Set<String> understood = Set.of(SAN, EKU, KU, BC);
        if (critical.stream().anyMatch(o -> !understood.contains(o) && !spec.copy().contains(o))) {
            return "extensions.unknown-critical";
        }
        if (spec.refuseUnlisted() && requested.stream().anyMatch(o -> !understood.contains(o) && !spec.copy().contains(o))) {
            return "extensions.unlisted";
        }
        if (caExpired) {
            return "validity.ca-expiry";
        }
        if (spec.maxPerDay() > 0 && issuedLastDay >= spec.maxPerDay()) {
            return "rate.per-enrolee";
        }
        return null;
    }

    private static KeyPair keyPair(Key key) {
        return switch (key) {
            case P256, P256_COMPRESSED -> TestCsrs.P256;
            case P384, P384_COMPRESSED -> TestCsrs.P384;
            case P521 -> TestCsrs.P521;
            case RSA1024 -> TestCsrs.RSA1024;
            case RSA2048 -> TestCsrs.RSA2048;
            case ED25519 -> TestCsrs.ED25519;
        };
    }

    private static EnrolmentContext context(RegisteredEnrolee enrolee, Challenge challenge,
            Optional<CurrentCertificate> current, int issuedLastDay, boolean caExpired) {
        Instant fresh = NOW.plus(Duration.ofMinutes(5));
        Optional<IssuedChallenge> issued = switch (challenge) {
            case OK -> Optional.of(new IssuedChallenge(enrolee.id(), fresh, false));
            case ABSENT, UNKNOWN -> Optional.empty();
            case USED -> Optional.of(new IssuedChallenge(enrolee.id(), fresh, true));
            case EXPIRED -> Optional.of(new IssuedChallenge(enrolee.id(), NOW.minusSeconds(1), false));
            case OTHER_ENROLEE -> Optional.of(new IssuedChallenge("someone-else", fresh, false));
        };
        return new EnrolmentContext("", "00".repeat(32), enrolee, issued, current, Optional.empty(), issuedLastDay,
                caExpired ? NOW : NOW.plus(Duration.ofDays(3650)), NOW);
    }

    private static <T> void maybe(Random random, int percent, List<T> list, T value) {
        if (random.nextInt(100) < percent) {
            list.add(value);
        }
    }

    /** The first value with probability {@code percent}, else any other. */
    private static <T> T weighted(Random random, T[] values, int percent) {
        return random.nextInt(100) < percent ? values[0] : values[1 + random.nextInt(values.length - 1)];
    }
}
