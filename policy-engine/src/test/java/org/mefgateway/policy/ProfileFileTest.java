package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.policy.TestCsrs.CLIENT_AUTH;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.P384;
import static org.mefgateway.policy.TestCsrs.SERVER_AUTH;
import static org.mefgateway.policy.TestCsrs.csr;
import static org.mefgateway.policy.TestCsrs.suidEku;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ProfileFileTest {

    /** file name, text, the exact start of the message ("file:line: field:"), a phrase of the reason. */
    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("t.yaml", "keys:\n  ecc: [P-256]\n", "t.yaml:2: keys.ecc: ",
                        "unknown field; known fields here: [ec, ecUncompressedOnly, ed25519, rsaMinBits]"),
                Arguments.of("t.yaml", "description: x\nsubjectAltNames:\n  maxCount: 2\n", "t.yaml:2: subjectAltNames: ",
                        "unknown field"),
                Arguments.of("t.yaml", "subjectAltName:\n  types: [DNS]\n  maxCount: many\n", "t.yaml:3: subjectAltName.maxCount: ",
                        "must be a whole number, not 'many'"),
                Arguments.of("t.yaml", "name: other\n", "t.yaml:1: name: ", "unknown field"),
                Arguments.of("t.yaml", "subjectAltName:\n  types: [DNS]\n  maxCount: 3\n", "t.yaml:2: subjectAltName: ",
                        "type DNS is allowed without a pattern, so an Enrolee could request any DNS name, another's included"),
                Arguments.of("t.yaml", "subjectAltName:\n  types: [DNS]\n  patterns: {DNS: '.*'}\n", "t.yaml:2: subjectAltName: ",
                        "maxCount 1 leaves no room besides the registered identity"),
                Arguments.of("t.yaml", "subject:\n  mode: rdns\n  rdns: {CNN: {required: true}}\n", "t.yaml:2: subject: ",
                        "subject attribute 'CNN' is unknown"),
                Arguments.of("t.yaml", "keys: P-256\n", "t.yaml:1: keys: ", "must be a mapping of fields"),
                Arguments.of("t.yaml", "challenge:\n  required: yes\n", "t.yaml:2: challenge.required: ",
                        "must be true or false, not 'yes'"),
                Arguments.of("t.yaml", "eku:\n  allowed:\n    serverAuth: true\n", "t.yaml:3: eku.allowed: ",
                        "must be a single value"),
                Arguments.of("t.yaml", "- keys\n- eku\n", "t.yaml:1: (profile): ", "must be a mapping of fields"),
                // Found by ProfileFileFuzzTest: both once named an empty field ("t.yaml:1: : ...").
                Arguments.of("t.yaml", "[keys]: x\n", "t.yaml:1: (profile): ", "field names must be plain words"),
                Arguments.of("t.yaml", "'': 1\n", "t.yaml:1: '': ", "unknown field"),
                Arguments.of("t.yaml", "keys:\n  '': 1\n", "t.yaml:2: keys.'': ", "unknown field"),
                Arguments.of("t.yaml", "validity:\n  days: 0\n", "t.yaml:2: validity.days: ", "must be from 1 to 36500, not 0"),
                Arguments.of("t.yaml", "subject:\n  mode: cn\n", "t.yaml:2: subject.mode: ",
                        "'cn' is not one of [identity, empty, rdns]"),
                Arguments.of("t.yaml", "subjectAltName:\n  types: [DNS, X400]\n", "t.yaml:2: subjectAltName.types: ",
                        "'X400' is not DNS, URI, EMAIL or IP"),
                Arguments.of("t.yaml", "subjectAltName:\n  add: [urn-without-kind]\n", "t.yaml:2: subjectAltName.add: ",
                        "must be KIND:value"),
                Arguments.of("t.yaml", "keys:\n  ec: [P-256, P-192]\n", "t.yaml:2: keys.ec: ",
                        "unknown curve 'P-192'; use P-256, P-384 or P-521"),
                Arguments.of("t.yaml", "eku:\n  allowed: [clientAuth, 1.2.x]\n", "t.yaml:2: eku.allowed: ",
                        "'1.2.x' is neither a dotted OID nor one of"),
                Arguments.of("t.yaml", "signatureAlgorithms: [SHA1withRSA]\n", "t.yaml:1: signatureAlgorithms: ",
                        "'SHA1withRSA' is neither a dotted OID nor one of"),
                Arguments.of("t.yaml", "extensions:\n  copy: [1.02.3]\n", "t.yaml:2: extensions: ",
                        "copied extension '1.02.3' is not a dotted OID"),
                Arguments.of("t.yaml", "eku:\n  suidEkus:\n    40: not-an-oid\n", "t.yaml:2: eku: ",
                        "EKU of SUID 40 'not-an-oid' is not a dotted OID"),
                Arguments.of("t.yaml", "eku:\n  suidEkus:\n    MEF: 1.2.3\n", "t.yaml:3: eku.suidEkus: ",
                        "keys are SUID numbers 40..45, not 'MEF'"),
                Arguments.of("t.yaml", "keys:\n  ec: [P-256]\n  rsaMinBits: 1024\n", "t.yaml:2: keys: ",
                        "rsaMinBits must be 0 (RSA refused) or at least 2048, not 1024"),
                Arguments.of("t.yaml", "challenge:\n  required: true\n  singleUse: false\n", "t.yaml:3: challenge.singleUse: ",
                        "must be true: a reusable challenge lets a captured CSR be replayed"),
                Arguments.of("t.yaml", "subjectAltName:\n  types: [DNS]\n  patterns:\n    DNS: '[a-z'\n", "t.yaml:2: subjectAltName: ",
                        "subjectAltName pattern for DNS '[a-z' is not a valid regular expression"),
                Arguments.of("t.yaml", "subject:\n  mode: rdns\n  rdns:\n    CN: {pattern: '(x'}\n", "t.yaml:4: subject.rdns.CN: ",
                        "subject pattern '(x' is not a valid regular expression"),
                Arguments.of("simpleenroll.yaml", "", "simpleenroll.yaml: ", "'simpleenroll' cannot be an EST label"),
                Arguments.of("cacerts.yaml", "", "cacerts.yaml: ", "not an operation name such as simpleenroll"),
                Arguments.of("a b.yaml", "", "a b.yaml: ", "'a b' cannot be an EST label"),
                Arguments.of("ae.yml", "", "ae.yml: ", "a profile file ends in .yaml"),
                Arguments.of("t.yaml", "keys:\n  ec: [P-256]\nkeys:\n  ed25519: true\n", "t.yaml:3: keys: ", "is given twice"),
                Arguments.of("t.yaml", "keys:\n  ec: [P-256\nvalidity:\n  days: 3\n", "t.yaml:3: not valid YAML: ",
                        "expected ',' or ']'"),
                Arguments.of("t.yaml", "keys:\n\tec: [P-256]\n", "t.yaml:2: not valid YAML: ", "\\t"),
                Arguments.of("t.yaml", "extensions:\n  copy: [1.2.3.4, 2.5.29.19]\n", "t.yaml:2: extensions: ",
                        "extension 2.5.29.19 is written by the CA from policy and cannot be copied from a CSR"),
                Arguments.of("t.yaml", "extensions:\n  copy: [2.5.29.15]\n", "t.yaml:2: extensions: ",
                        "extension 2.5.29.15 is written by the CA"),
                Arguments.of("t.yaml", "extensions:\n  ocsp: ['ftp://ocsp.example.com']\n", "t.yaml:2: extensions: ",
                        "must be an http, https or ldap URL"),
                Arguments.of("t.yaml", "keys:\n  ec: []\n", "t.yaml:2: keys: ", "the profile accepts no key type at all"),
                Arguments.of("t.yaml", "subject:\n  mode: empty\nsubjectAltName:\n  bindToRegisteredIdentity: false\n",
                        "t.yaml:1: (profile): ", "with an empty subject the certificate needs a subjectAltName"),
                Arguments.of("t.yaml", "subject:\n  rdns:\n    CN: {required: true}\n", "t.yaml:2: subject: ",
                        "subject rdns are only used with mode RDNS, not IDENTITY"),
                Arguments.of("t.yaml", "reenrolment:\n  allowRekey: true\n  challenge: certificate\n",
                        "t.yaml:3: reenrolment.challenge: ", "'certificate' is not one of [enrolment, none]"),
                Arguments.of("t.yaml", "approval:\n  maxPendingPerEnrolee: 0\n", "t.yaml:2: approval.maxPendingPerEnrolee: ",
                        "must be from 1 to 100, not 0"),
                Arguments.of("t.yaml", "approval:\n  required: true\n  maxPendingPerEnrolee: 101\n",
                        "t.yaml:3: approval.maxPendingPerEnrolee: ", "must be from 1 to 100, not 101"),
                Arguments.of("t.yaml", "redelivery:\n  windowSeconds: -1\n", "t.yaml:2: redelivery.windowSeconds: ",
                        "must be from 0 to 2592000, not -1"),
                Arguments.of("t.yaml", "redelivery:\n  windowSeconds: 60\n  window: 60\n", "t.yaml:3: redelivery.window: ",
                        "unknown field; known fields here: [windowSeconds]"));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("invalid")
    void refusesAnInvalidFileNamingFileLineAndField(String file, String text, String prefix, String phrase) {
        ProfileException e = assertThrows(ProfileException.class, () -> ProfileFile.parse(file, text));

        assertTrue(e.getMessage().startsWith(prefix), () -> "'" + e.getMessage() + "' should start with '" + prefix + "'");
        assertTrue(e.getMessage().contains(phrase), () -> "'" + e.getMessage() + "' should say '" + phrase + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\n", "# nothing but a comment\n", "description: the oneM2M default\n", "---\n", "--- # all commented out\n", "~\n"})
    void aFileWithoutSettingsIsTheOneM2MDefault(String text) throws ProfileException {
        assertEquals(Profile.oneM2MDefault("ae"), ProfileFile.parse("ae.yaml", text));
    }

    @Test
    void theFileNameIsTheProfileName() throws ProfileException {
        assertEquals("default", ProfileFile.parse("default.yaml", "").name());
        assertEquals(ProfileFile.DEFAULT, ProfileFile.parse("default.yaml", "").name());
        assertEquals("cse", ProfileFile.parse("cse.yaml", "description: CSE certificates\n").name());
        assertEquals(Optional.of("ae"), ProfileFile.profileName("ae.yaml"));
        assertEquals(Optional.empty(), ProfileFile.profileName("ae.yaml.bak"));
    }

    @Test
    void everyFieldIsRead() throws ProfileException {
        Profile p = ProfileFile.parse("all.yaml", """
                description: every field set to something other than its default
                keys: {ec: [P-384, P-521], ecUncompressedOnly: false, rsaMinBits: 3072, ed25519: true}
                signatureAlgorithms: [ecdsa-with-SHA384, RSASSA-PSS, 1.3.101.112]
                subject:
                  mode: rdns
                  rdns:
                    CN: {required: true, pattern: '{certSubjectId}'}
                    O: {pattern: 'Acme'}
                subjectAltName:
                  bindToRegisteredIdentity: false
                  types: [dns, uri, email, ip]
                  patterns: {URI: 'urn:x:.*', EMAIL: '.*@example\\.com', DNS: '.*', IP: '.*'}
                  maxCount: 7
                  add: ['DNS:{enroleeId}.example.com', 'IP:192.0.2.1']
                eku:
                  addSuidEkus: false
                  allowed: [serverAuth, codeSigning, emailProtection, 1.2.3.4]
                  suidEkus: {40: 1.2.40, 45: 1.2.45}
                extensions:
                  copy: 1.2.3.4
                  refuseUnlisted: false
                  crlDistributionPoints: [http://crl.example.com/a.crl, ldap://ldap.example.com/cn=crl]
                  ocsp: [https://ocsp.example.com]
                  caIssuers: [http://pki.example.com/ca.cer]
                validity: {days: 30, backdateSeconds: 0}
                challenge: {required: false, lifetimeSeconds: 3600, singleUse: true}
                reenrolment: {allowRekey: false, renewalWindowDays: 7, challenge: none}
                rateLimit: {maxIssuancesPerDay: 0}
                approval: {required: true, retryAfterSeconds: 30, maxPendingPerEnrolee: 5}
                redelivery: {windowSeconds: 120}
                """);

        assertEquals(new Profile.Keys(Set.of("secp384r1", "secp521r1"), false, 3072, true), p.keys());
        assertEquals(Set.of(Oids.ECDSA_WITH_SHA384, Oids.RSASSA_PSS, Oids.ED25519), p.signatureAlgorithmOids());
        assertEquals(new Profile.Subject(Profile.Subject.Mode.RDNS, Map.of("CN", new Profile.Rdn(true, "{certSubjectId}"),
                "O", new Profile.Rdn(false, "Acme"))), p.subject());
        assertEquals(new Profile.SubjectAltNames(
                Set.of(SubjectAltName.Kind.DNS, SubjectAltName.Kind.URI, SubjectAltName.Kind.EMAIL, SubjectAltName.Kind.IP),
                Map.of(SubjectAltName.Kind.URI, "urn:x:.*", SubjectAltName.Kind.EMAIL, ".*@example\\.com",
                        SubjectAltName.Kind.DNS, ".*", SubjectAltName.Kind.IP, ".*"), false, 7,
                List.of(new SubjectAltName(SubjectAltName.Kind.DNS, "{enroleeId}.example.com"),
                        new SubjectAltName(SubjectAltName.Kind.IP, "192.0.2.1"))), p.subjectAltName());
        assertEquals(new Profile.Ekus(Map.of(40, "1.2.40", 45, "1.2.45"),
                Set.of(SERVER_AUTH, "1.3.6.1.5.5.7.3.3", "1.3.6.1.5.5.7.3.4", "1.2.3.4"), false), p.eku());
        assertEquals(new Profile.Extensions(Set.of("1.2.3.4"), false,
                List.of("http://crl.example.com/a.crl", "ldap://ldap.example.com/cn=crl"),
                List.of("https://ocsp.example.com"), List.of("http://pki.example.com/ca.cer")), p.extensions());
        assertEquals(Duration.ofDays(30), p.validity());
        assertEquals(Duration.ZERO, p.backdate());
        assertEquals(new Profile.Challenge(false, Duration.ofHours(1), false), p.challenge());
        assertEquals(new Profile.Reenrolment(false, Duration.ofDays(7), Profile.ReenrolmentChallenge.NONE), p.reenrolment());
        assertEquals(0, p.maxIssuancesPerDay());
        assertEquals(new Profile.Approval(true, Duration.ofSeconds(30), 5), p.approval());
        assertEquals(Duration.ofSeconds(120), p.redeliveryWindow());
    }

    @Test
    void aSectionGivenKeepsTheDefaultsOfTheFieldsItLeavesOut() throws ProfileException {
        Profile d = Profile.oneM2MDefault("p");
        Profile p = ProfileFile.parse("p.yaml", "keys:\n  rsaMinBits: 2048\nvalidity:\n  days: 30\n");

        assertEquals(new Profile.Keys(Set.of("secp256r1"), true, 2048, false), p.keys());
        assertEquals(d.backdate(), p.backdate());
        assertEquals(d.signatureAlgorithmOids(), p.signatureAlgorithmOids());
        assertEquals(d.subjectAltName(), p.subjectAltName());
    }

    @Test
    void reenrolmentChallengeIsReadAndKeepsTheOtherReenrolmentDefaults() throws ProfileException {
        assertEquals(new Profile.Reenrolment(true, Duration.ofDays(30), Profile.ReenrolmentChallenge.NONE),
                ProfileFile.parse("p.yaml", "reenrolment:\n  challenge: none\n").reenrolment());
        assertEquals(new Profile.Reenrolment(true, Duration.ofDays(30), Profile.ReenrolmentChallenge.ENROLMENT),
                ProfileFile.parse("p.yaml", "reenrolment:\n  challenge: enrolment\n").reenrolment());
    }

    @Test
    void unsetReenrolmentChallengePendingLimitAndRedeliveryWindowTakeTheirDefaults() throws ProfileException {
        Profile none = ProfileFile.parse("p.yaml", "");
        Profile sections = ProfileFile.parse("p.yaml", "reenrolment:\n  allowRekey: false\napproval:\n  required: true\n"
                + "redelivery: {}\n");

        for (Profile p : List.of(none, sections)) {
            assertEquals(Profile.ReenrolmentChallenge.ENROLMENT, p.reenrolment().challenge());
            assertEquals(1, p.approval().maxPendingPerEnrolee());
            assertEquals(Duration.ofSeconds(600), p.redeliveryWindow());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 100})
    void maxPendingPerEnroleeIsReadFrom1To100AndKeepsTheOtherApprovalDefaults(int pending) throws ProfileException {
        assertEquals(new Profile.Approval(false, Duration.ofMinutes(1), pending),
                ProfileFile.parse("p.yaml", "approval:\n  maxPendingPerEnrolee: " + pending + "\n").approval());
    }

    @Test
    void redeliveryWindowDefaultsToAnExplicitChallengeLifetime() throws ProfileException {
        assertEquals(Duration.ofSeconds(900),
                ProfileFile.parse("p.yaml", "challenge:\n  lifetimeSeconds: 900\n").redeliveryWindow());
        // a redelivery section without windowSeconds, written before the challenge section, follows it too
        assertEquals(Duration.ofSeconds(900),
                ProfileFile.parse("p.yaml", "redelivery: {}\nchallenge:\n  lifetimeSeconds: 900\n").redeliveryWindow());
    }

    @Test
    void anExplicitRedeliveryWindowWinsOverTheChallengeLifetime() throws ProfileException {
        Profile p = ProfileFile.parse("p.yaml", "challenge:\n  lifetimeSeconds: 900\nredelivery:\n  windowSeconds: 60\n");

        assertEquals(Duration.ofSeconds(60), p.redeliveryWindow());
        assertEquals(Duration.ofSeconds(900), p.challenge().lifetime());
        assertEquals(Duration.ofDays(30), ProfileFile.parse("p.yaml", "redelivery:\n  windowSeconds: 2592000\n")
                .redeliveryWindow());
    }

    @Test
    void redeliveryWindowZeroTurnsRedeliveryOff() throws ProfileException {
        assertEquals(Duration.ZERO, ProfileFile.parse("p.yaml",
                "challenge:\n  lifetimeSeconds: 900\nredelivery:\n  windowSeconds: 0\n").redeliveryWindow());
    }

    @Test
    void theReadmeExampleParses() throws Exception {
        // Surefire runs in the module directory; the README's one YAML block is the CSE example.
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
        int start = readme.indexOf("```yaml\n") + "```yaml\n".length();
        String yaml = readme.substring(start, readme.indexOf("```", start));

        Profile cse = ProfileFile.parse("cse.yaml", yaml);

        assertEquals(Map.of(SubjectAltName.Kind.DNS, "([a-z0-9-]+\\.)+{certSubjectId}",
                SubjectAltName.Kind.IP, "10\\.20\\.[0-9.]+|2001:db8:[0-9a-f:]+"), cse.subjectAltName().patterns());
        assertEquals(ProfileFile.parse("cse.yaml", CSE_YAML).subjectAltName(), cse.subjectAltName());
    }

    // ---- two realistic profiles: what ops/config/policies/ae.yaml and cse.yaml are meant to say ----

    static final String AE_YAML = """
            description: >-
              oneM2M AE certificates (TS-0003 10.1), served on /.well-known/est/ae/.
              P-256, ecdsa-with-SHA256, subject CN=AE-ID or empty, the AE-ID as the only (URI) SAN,
              the EKUs of the AE's SUIDs plus clientAuth when asked for.
            keys:
              ec: [P-256]
              ecUncompressedOnly: true
            signatureAlgorithms: [ecdsa-with-SHA256]
            subject:
              mode: identity
            subjectAltName:
              bindToRegisteredIdentity: true
              maxCount: 1
            eku:
              addSuidEkus: true
              allowed: [clientAuth]
            extensions:
              refuseUnlisted: true
              crlDistributionPoints: ['http://pki.m2m.example.com/mef.crl']
              ocsp: ['http://ocsp.m2m.example.com/']
            validity:
              days: 365
              backdateSeconds: 60
            challenge:
              required: true
              lifetimeSeconds: 600
              singleUse: true
            reenrolment:
              allowRekey: true
              renewalWindowDays: 30
            rateLimit:
              maxIssuancesPerDay: 10
            """;

    static final String CSE_YAML = """
            description: >-
              oneM2M CSE certificates (TS-0003 10.1), served on /.well-known/est/cse/.
              The CSE-ID as a DNS name, plus up to three host names under it and IP addresses
              for Mcc; serverAuth and clientAuth (a CSE is TLS server and client).
            keys:
              ec: [P-256, P-384]
            signatureAlgorithms: [ecdsa-with-SHA256, ecdsa-with-SHA384]
            subject:
              mode: identity
            subjectAltName:
              bindToRegisteredIdentity: true
              types: [DNS, IP]
              patterns:
                DNS: '([a-z0-9-]+\\.)+{certSubjectId}'
                IP: '10\\.20\\.[0-9.]+|2001:db8:[0-9a-f:]+'
              maxCount: 4
            eku:
              addSuidEkus: true
              allowed: [serverAuth, clientAuth]
            extensions:
              crlDistributionPoints: ['http://pki.m2m.example.com/mef.crl']
              caIssuers: ['http://pki.m2m.example.com/mef.cer']
            validity:
              days: 730
            reenrolment:
              allowRekey: true
              renewalWindowDays: 60
            rateLimit:
              maxIssuancesPerDay: 4
            """;

    static final Instant NOW = PolicyEngineTest.NOW;
    static final String AE_ID = PolicyEngineTest.AE_ID;
    static final RegisteredEnrolee AE = PolicyEngineTest.AE;
    static final String CSE_ID = "cse3219.m2m.example.com";
    static final RegisteredEnrolee CSE = new RegisteredEnrolee("cse-1", CertSubjectType.CSE_ID, CSE_ID, Set.of(41));

    static EnrolmentContext ctx(RegisteredEnrolee enrolee) {
        return new EnrolmentContext(enrolee == AE ? "ae" : "cse", "ef".repeat(32), enrolee,
                Optional.of(new IssuedChallenge(enrolee.id(), NOW.plusSeconds(300), false)), Optional.empty(), Optional.empty(), 0,
                PolicyEngineTest.CA_NOT_AFTER, NOW);
    }

    @Test
    void aeProfileParsesAndIssuesOneM2MAeCertificates() throws ProfileException {
        Profile ae = ProfileFile.parse("ae.yaml", AE_YAML);
        PolicyEngine engine = new PolicyEngine(ae);

        assertEquals("ae", ae.name());
        Decision.Issue issue = assertInstanceOf(Decision.Issue.class,
                engine.decide(csr(P256).subject("CN=" + AE_ID).uri(AE_ID).eku(CLIENT_AUTH).facts(), ctx(AE)));
        CertificateTemplate t = issue.template();
        assertEquals("CN=" + AE_ID, t.subject());
        assertEquals(List.of(AE.identity()), t.subjectAltNames());
        assertEquals(List.of(suidEku(40), suidEku(43), CLIENT_AUTH), t.extendedKeyUsages());
        assertEquals(NOW.minusSeconds(60), t.notBefore());
        assertEquals(NOW.plus(Duration.ofDays(365)), t.notAfter());
        assertEquals(List.of("http://pki.m2m.example.com/mef.crl"), t.crlDistributionPoints());
        assertEquals(List.of("http://ocsp.m2m.example.com/"), t.ocspUrls());
        assertEquals(List.of(), t.caIssuersUrls());

        assertEquals("key.type", ((Decision.Deny) engine.decide(csr(P384).uri(AE_ID).facts(), ctx(AE))).ruleId());
        assertEquals("san.count", ((Decision.Deny) engine.decide(
                csr(P256).uri(AE_ID).san(GeneralName.dNSName, "ae.example.com").facts(), ctx(AE))).ruleId());
        assertEquals("eku.suids", ((Decision.Deny) engine.decide(
                csr(P256).uri(AE_ID).eku(SERVER_AUTH).facts(), ctx(AE))).ruleId());
        assertEquals("challenge.present", ((Decision.Deny) engine.decide(
                csr(P256).uri(AE_ID).noChallenge().facts(), ctx(AE))).ruleId());
    }

    @Test
    void cseProfileParsesAndIssuesOneM2MCseCertificates() throws ProfileException {
        Profile cse = ProfileFile.parse("cse.yaml", CSE_YAML);
        PolicyEngine engine = new PolicyEngine(cse);

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, engine.decide(csr(P384)
                .signatureAlgorithm("SHA384withECDSA")
                .san(GeneralName.dNSName, CSE_ID)
                .san(GeneralName.dNSName, "mn1.gw." + CSE_ID)
                .san(GeneralName.iPAddress, "2001:db8::7")
                .eku(SERVER_AUTH).eku(CLIENT_AUTH).facts(), ctx(CSE)));
        CertificateTemplate t = issue.template();
        assertEquals("CN=" + CSE_ID, t.subject());
        assertEquals(List.of(CSE.identity(), new SubjectAltName(SubjectAltName.Kind.DNS, "mn1.gw." + CSE_ID),
                new SubjectAltName(SubjectAltName.Kind.IP, "2001:db8:0:0:0:0:0:7")), t.subjectAltNames());
        assertEquals(List.of(suidEku(41), SERVER_AUTH, CLIENT_AUTH), t.extendedKeyUsages());
        assertEquals(NOW.plus(Duration.ofDays(730)), t.notAfter());
        assertEquals(List.of("http://pki.m2m.example.com/mef.cer"), t.caIssuersUrls());

        Decision.Deny foreign = assertInstanceOf(Decision.Deny.class, engine.decide(
                csr(P256).san(GeneralName.dNSName, CSE_ID).san(GeneralName.dNSName, "www.evil.example.com").facts(), ctx(CSE)));
        assertEquals("san.pattern", foreign.ruleId());
        // the '.' in the CSE-ID is literal: "mn1.cse3219Xm2m..." is not under the CSE-ID
        Decision.Deny lookalike = assertInstanceOf(Decision.Deny.class, engine.decide(
                csr(P256).san(GeneralName.dNSName, CSE_ID).san(GeneralName.dNSName, "mn1.cse3219xm2mxexamplexcom").facts(),
                ctx(CSE)));
        assertEquals("san.pattern", lookalike.ruleId());
        assertEquals("san.type", ((Decision.Deny) engine.decide(
                csr(P256).san(GeneralName.dNSName, CSE_ID).uri("coap://cse3219.m2m.example.com").facts(), ctx(CSE))).ruleId());
        assertEquals("san.registered-identity", ((Decision.Deny) engine.decide(
                csr(P256).san(GeneralName.dNSName, "mn1." + CSE_ID).facts(), ctx(CSE))).ruleId());
    }
}
