package org.mefgateway.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mefgateway.policy.TestCsrs.CLIENT_AUTH;
import static org.mefgateway.policy.TestCsrs.ED25519;
import static org.mefgateway.policy.TestCsrs.P256;
import static org.mefgateway.policy.TestCsrs.P256_OTHER;
import static org.mefgateway.policy.TestCsrs.P384;
import static org.mefgateway.policy.TestCsrs.P521;
import static org.mefgateway.policy.TestCsrs.RSA1024;
import static org.mefgateway.policy.TestCsrs.RSA2048;
import static org.mefgateway.policy.TestCsrs.SERVER_AUTH;
import static org.mefgateway.policy.TestCsrs.csr;
import static org.mefgateway.policy.TestCsrs.suidEku;

import java.io.IOException;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.math.ec.ECPoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each rule type, allowed and denied, under non-default profiles read from YAML with
 * {@link ProfileFile#parse}: what a profile field changes, and what it does not.
 */
class PolicyEngineProfilesTest {

    static final Instant NOW = PolicyEngineTest.NOW;
    static final Instant CA_NOT_AFTER = PolicyEngineTest.CA_NOT_AFTER;
    static final String AE_ID = PolicyEngineTest.AE_ID;
    /** An Enrolee id with a regex metacharacter: placeholders must quote it. */
    static final RegisteredEnrolee AE = new RegisteredEnrolee("ae.1", CertSubjectType.AE_ID, AE_ID, Set.of(40, 43));
    static final SubjectAltName IDENTITY = AE.identity();
    static final IssuedChallenge FRESH = new IssuedChallenge("ae.1", NOW.plus(Duration.ofMinutes(5)), false);

    static Profile yaml(String file, String text) {
        try {
            return ProfileFile.parse(file, text);
        } catch (ProfileException e) {
            throw new AssertionError("test profile does not load: " + e.getMessage(), e);
        }
    }

    static final Profile DEFAULT = yaml("default.yaml", "");
    static final Profile P384_ONLY = yaml("p384.yaml", """
            keys:
              ec: [P-384]
            """);
    static final Profile ANY_EC_COMPRESSED = yaml("anyec.yaml", """
            keys:
              ec: [P-256, secp384r1, p-521]
              ecUncompressedOnly: false
            """);
    static final Profile RSA_2048 = yaml("rsa.yaml", """
            keys:
              ec: []
              rsaMinBits: 2048
            signatureAlgorithms: [ecdsa-with-SHA256, sha256WithRSAEncryption]
            """);
    static final Profile RSA_3072 = yaml("rsa3072.yaml", """
            keys:
              ec: []
              rsaMinBits: 3072
            signatureAlgorithms: [sha256WithRSAEncryption]
            """);
    static final Profile ED = yaml("ed.yaml", """
            keys:
              ec: []
              ed25519: true
            signatureAlgorithms: [Ed25519]
            """);
    static final Profile SHA384 = yaml("sha384.yaml", """
            signatureAlgorithms: [ecdsa-with-SHA384]
            """);
    static final Profile EMPTY_SUBJECT = yaml("empty.yaml", """
            subject:
              mode: empty
            """);
    static final Profile RDNS = yaml("rdns.yaml", """
            subject:
              mode: rdns
              rdns:
                CN: {required: true, pattern: "{certSubjectId}"}
                O: {pattern: "Acme( Corp)?"}
                serialNumber:
                  required: true
                  pattern: "{enroleeId}-[0-9]+"
            """);
    static final Profile SANS = yaml("sans.yaml", """
            subjectAltName:
              types: [DNS, IP]
              patterns:
                DNS: '[a-z0-9-]+\\.{enroleeId}\\.devices\\.example\\.com'
                IP: '.*'
              maxCount: 3
              add: ['URI:urn:example:ae:{enroleeId}', 'DNS:{enroleeId}.mgmt.example.com']
            """);
    static final Profile UNBOUND = yaml("unbound.yaml", """
            subjectAltName:
              bindToRegisteredIdentity: false
              types: [DNS]
              patterns: {DNS: '.*\\.example\\.com'}
              maxCount: 2
            """);
    static final Profile EKUS = yaml("ekus.yaml", """
            eku:
              allowed: [clientAuth, serverAuth]
              addSuidEkus: false
            """);
    static final Profile EKUS_ADDED = yaml("ekus-added.yaml", """
            eku:
              allowed: [clientAuth]
            """);
    static final Profile COPY = yaml("copy.yaml", """
            extensions:
              copy: [1.2.3.4, 1.3.6.1.4.1.99999.1]
            """);
    static final Profile COPY_LENIENT = yaml("copy-lenient.yaml", """
            extensions:
              copy: [1.2.3.4]
              refuseUnlisted: false
            """);
    static final Profile NO_CHALLENGE = yaml("nochallenge.yaml", """
            challenge:
              required: false
              lifetimeSeconds: 120
            """);
    static final Profile NO_REKEY = yaml("norekey.yaml", """
            reenrolment:
              allowRekey: false
              renewalWindowDays: 10
            """);
    static final Profile ANYTIME = yaml("anytime.yaml", """
            reenrolment:
              renewalWindowDays: 0
            """);
    static final Profile RATE3 = yaml("rate3.yaml", """
            rateLimit:
              maxIssuancesPerDay: 3
            """);
    static final Profile UNLIMITED = yaml("unlimited.yaml", """
            rateLimit: {maxIssuancesPerDay: 0}
            """);
    static final Profile SHORT = yaml("short.yaml", """
            validity:
              days: 90
              backdateSeconds: 300
            """);
    static final Profile URLS = yaml("urls.yaml", """
            extensions:
              crlDistributionPoints: ['http://crl.example.com/mef.crl']
              ocsp: ['http://ocsp.example.com', 'http://ocsp2.example.com']
              caIssuers: ['http://pki.example.com/mef.cer']
            """);

    static EnrolmentContext ctx(Optional<IssuedChallenge> challenge, Optional<CurrentCertificate> current, int issuedLastDay) {
        return new EnrolmentContext("", "cd".repeat(32), AE, challenge, current, Optional.empty(), issuedLastDay, CA_NOT_AFTER, NOW);
    }

    static final Profile AE_ONLY = yaml("aeonly.yaml", "certSubjectTypes: [AE-ID]\n");
    static final Profile BOUND = yaml("bound.yaml", "challenge:\n  required: false\n  channelBinding: true\n");
    static final RegisteredEnrolee CSE = new RegisteredEnrolee("cse.1", CertSubjectType.CSE_ID, "cse1.m2m.example.com",
            Set.of(41));

    static EnrolmentContext cse() {
        return new EnrolmentContext("", "cd".repeat(32), CSE,
                Optional.of(new IssuedChallenge("cse.1", NOW.plus(Duration.ofMinutes(5)), false)), Optional.empty(),
                Optional.empty(), 0, CA_NOT_AFTER, NOW);
    }

    /** A session whose tls-exporter binding is {@code binding} (empty: the session cannot provide one). */
    static EnrolmentContext session(Optional<String> binding) {
        return new EnrolmentContext("", "cd".repeat(32), AE, Optional.empty(), Optional.empty(), binding, 0,
                CA_NOT_AFTER, NOW);
    }

    static EnrolmentContext ctx() {
        return ctx(Optional.of(FRESH), Optional.empty(), 0);
    }

    static EnrolmentContext issued(int lastDay) {
        return ctx(Optional.of(FRESH), Optional.empty(), lastDay);
    }

    static EnrolmentContext renewing(CurrentCertificate current) {
        return ctx(Optional.of(FRESH), Optional.of(current), 0);
    }

    static EnrolmentContext noChallengeFound() {
        return ctx(Optional.empty(), Optional.empty(), 0);
    }

    /** The certificate a previous enrolment of {@link #good()} produced, ending {@code days} from now. */
    static CurrentCertificate current(KeyPair key, long days) {
        return new CurrentCertificate("CN=" + AE_ID, List.of(IDENTITY), key.getPublic().getEncoded(),
                NOW.plus(Duration.ofDays(days)));
    }

    static TestCsrs.Builder good() {
        return good(P256);
    }

    static TestCsrs.Builder good(KeyPair key) {
        return csr(key).subject("CN=" + AE_ID).uri(AE_ID);
    }

    static SubjectPublicKeyInfo compressed(KeyPair keys, String curve) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
        ECPoint point = ECNamedCurveTable.getParameterSpec(curve).getCurve().decodePoint(spki.getPublicKeyData().getOctets());
        return new SubjectPublicKeyInfo(spki.getAlgorithm(), point.getEncoded(true));
    }

    static final String RDN_OK = "CN=" + AE_ID + ",O=Acme,SERIALNUMBER=ae.1-7";

    /** The certificate being renewed, on the TLS session, is the proof of a re-enrolment: no challenge rule applies. */
    static final Profile RENEW_BY_CERTIFICATE = yaml("renewbycert.yaml", """
            reenrolment:
              challenge: none
            """);
    static final Profile BOUND_RENEW_BY_CERTIFICATE = yaml("boundrenew.yaml", """
            challenge: {required: false, channelBinding: true}
            reenrolment: {challenge: none}
            """);
    static final IssuedChallenge USED = new IssuedChallenge("ae.1", FRESH.expiresAt(), true);
    static final IssuedChallenge EXPIRED = new IssuedChallenge("ae.1", NOW, false);
    static final IssuedChallenge OTHER_ENROLEES = new IssuedChallenge("ae.2", FRESH.expiresAt(), false);

    /** A re-enrolment of {@code current(P256, 10)} (inside the default window) with the challenge the MEF found, if any. */
    static EnrolmentContext renewing(Optional<IssuedChallenge> challenge) {
        return ctx(challenge, Optional.of(current(P256, 10)), 0);
    }

    /** A first enrolment with the challenge the MEF found, if any. */
    static EnrolmentContext enrolling(Optional<IssuedChallenge> challenge) {
        return ctx(challenge, Optional.empty(), 0);
    }

    /** A re-enrolment of {@code current(P256, 10)} on a session whose tls-exporter binding is {@code binding}. */
    static EnrolmentContext renewingOnSession(Optional<String> binding) {
        return new EnrolmentContext("", "cd".repeat(32), AE, Optional.empty(), Optional.of(current(P256, 10)), binding, 0,
                CA_NOT_AFTER, NOW);
    }

    /** name, profile, CSR, context: each is issued. */
    static Stream<Arguments> allowed() {
        return Stream.of(
                Arguments.of("P-384 key, P-384 profile", P384_ONLY, good(P384).facts(), ctx()),
                Arguments.of("compressed P-256 point where allowed", ANY_EC_COMPRESSED,
                        good().publicKey(compressed(P256, "secp256r1")).facts(), ctx()),
                Arguments.of("P-521 key where listed", ANY_EC_COMPRESSED, good(P521).facts(), ctx()),
                Arguments.of("RSA 2048 at rsaMinBits 2048", RSA_2048, good(RSA2048).facts(), ctx()),
                Arguments.of("Ed25519 where allowed", ED, good(ED25519).facts(), ctx()),
                Arguments.of("ecdsa-with-SHA384 by name", SHA384,
                        good().signatureAlgorithm("SHA384withECDSA").facts(), ctx()),
                Arguments.of("empty mode: any requested subject", EMPTY_SUBJECT,
                        csr(P256).subject("O=Anything,CN=whatever").uri(AE_ID).facts(), ctx()),
                Arguments.of("rdns: required CN and serialNumber, allowed O", RDNS,
                        csr(P256).subject(RDN_OK).uri(AE_ID).facts(), ctx()),
                Arguments.of("rdns: optional O left out", RDNS,
                        csr(P256).subject("CN=" + AE_ID + ",SERIALNUMBER=ae.1-12").uri(AE_ID).facts(), ctx()),
                Arguments.of("SAN: identity, DNS matching the pattern, IP", SANS, good()
                        .san(GeneralName.dNSName, "cam.ae.1.devices.example.com")
                        .san(GeneralName.iPAddress, "192.0.2.7").facts(), ctx()),
                Arguments.of("SAN unbound: a DNS name without the identity", UNBOUND,
                        csr(P256).san(GeneralName.dNSName, "gw.example.com").facts(), ctx()),
                Arguments.of("EKU clientAuth allowed", EKUS, good().eku(CLIENT_AUTH).facts(), ctx()),
                Arguments.of("EKU of a granted SUID still accepted", EKUS, good().eku(suidEku(43)).facts(), ctx()),
                Arguments.of("copied critical extension", COPY,
                        good().extension("1.2.3.4", true, new DERUTF8String("hello")).facts(), ctx()),
                Arguments.of("unlisted extension ignored when refuseUnlisted is false", COPY_LENIENT,
                        good().extension("1.2.3.5", false, new DERUTF8String("dropped")).facts(), ctx()),
                Arguments.of("challenge not required, none sent", NO_CHALLENGE, good().noChallenge().facts(),
                        noChallengeFound()),
                Arguments.of("challenge not required, a valid one sent", NO_CHALLENGE, good().facts(), ctx()),
                Arguments.of("renewal inside the window, new key", DEFAULT, good(P256_OTHER).facts(),
                        renewing(current(P256, 10))),
                Arguments.of("renewal of the same key where rekey is refused", NO_REKEY, good().facts(),
                        renewing(current(P256, 5))),
                Arguments.of("renewal any time with a zero window", ANYTIME, good().facts(),
                        renewing(current(P256, 300))),
                Arguments.of("rate below the limit", RATE3, good().facts(), issued(2)),
                Arguments.of("no rate limit", UNLIMITED, good().facts(), issued(100_000)),
                Arguments.of("AE under an AE-only profile", AE_ONLY, good().facts(), ctx()),
                Arguments.of("challengePassword is this session's binding", BOUND,
                        good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(), session(Optional.of("c2Vzc2lvbi1h"))),
                Arguments.of("re-enrolment without challengePassword, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().noChallenge().facts(), renewing(Optional.empty())),
                Arguments.of("re-enrolment with an unknown challengePassword, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().facts(), renewing(Optional.empty())),
                Arguments.of("re-enrolment with a used challengePassword, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().facts(), renewing(Optional.of(USED))),
                Arguments.of("re-enrolment with an expired challengePassword, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().facts(), renewing(Optional.of(EXPIRED))),
                Arguments.of("re-enrolment with another Enrolee's challengePassword, reenrolment.challenge none",
                        RENEW_BY_CERTIFICATE, good().facts(), renewing(Optional.of(OTHER_ENROLEES))),
                Arguments.of("re-enrolment with a new key and no challengePassword, reenrolment.challenge none",
                        RENEW_BY_CERTIFICATE, good(P256_OTHER).noChallenge().facts(), renewing(Optional.empty())),
                Arguments.of("re-enrolment on a session without channel binding, reenrolment.challenge none",
                        BOUND_RENEW_BY_CERTIFICATE, good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(),
                        renewingOnSession(Optional.empty())),
                Arguments.of("re-enrolment with a CSR made for another session, reenrolment.challenge none",
                        BOUND_RENEW_BY_CERTIFICATE, good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(),
                        renewingOnSession(Optional.of("c2Vzc2lvbi1i"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allowed")
    void issues(String name, Profile profile, CsrFacts csr, EnrolmentContext ctx) {
        Decision decision = new PolicyEngine(profile).decide(csr, ctx);

        Decision.Issue issue = assertInstanceOf(Decision.Issue.class, decision, () -> "denied: " + decision);
        assertEquals(profile.name(), issue.profile());
    }

    /** name, profile, CSR, context, rule id, status, text the reason must contain. */
    static Stream<Arguments> denied() {
        return Stream.of(
                Arguments.of("P-256 key, P-384 profile", P384_ONLY, good().facts(), ctx(),
                        "key.type", "accepts EC on secp384r1; the CSR has EC secp256r1"),
                Arguments.of("P-384 key compressed is refused by default", P384_ONLY,
                        good(P384).publicKey(compressed(P384, "secp384r1")).facts(), ctx(), "key.type", "uncompressed"),
                Arguments.of("RSA 1024", RSA_2048, good(RSA1024).facts(), ctx(), "key.type",
                        "accepts RSA of at least 2048 bits; the CSR has RSA (1024 bits)"),
                Arguments.of("RSA 2048 under rsaMinBits 3072", RSA_3072, good(RSA2048).facts(), ctx(), "key.type",
                        "RSA of at least 3072 bits"),
                Arguments.of("EC key in an RSA-only profile", RSA_2048, good().facts(), ctx(), "key.type",
                        "the CSR has EC secp256r1"),
                Arguments.of("Ed25519 in the default profile", DEFAULT, good(ED25519).facts(), ctx(),
                        "csr.signature-algorithm", Oids.ED25519),
                Arguments.of("Ed25519 key where only its signature algorithm is allowed", yaml("edsig.yaml",
                        "signatureAlgorithms: [Ed25519, ecdsa-with-SHA256]\n"), good(ED25519).facts(), ctx(),
                        "key.type", "the CSR has Ed25519"),
                Arguments.of("ECDSA-SHA256 where only SHA384 is allowed", SHA384, good().facts(), ctx(),
                        "csr.signature-algorithm", Oids.ECDSA_WITH_SHA256),
                Arguments.of("rdns: missing required serialNumber", RDNS,
                        csr(P256).subject("CN=" + AE_ID + ",O=Acme").uri(AE_ID).facts(), ctx(),
                        "subject.rdns", "subject attribute serialNumber is required"),
                Arguments.of("rdns: O not matching", RDNS,
                        csr(P256).subject("CN=" + AE_ID + ",O=Evil,SERIALNUMBER=ae.1-7").uri(AE_ID).facts(), ctx(),
                        "subject.rdns", "O=Evil does not match the pattern Acme( Corp)?"),
                Arguments.of("rdns: attribute not listed", RDNS,
                        csr(P256).subject(RDN_OK + ",OU=Lab").uri(AE_ID).facts(), ctx(),
                        "subject.rdns", "subject attribute OU is not allowed"),
                Arguments.of("rdns: '.' of certSubjectId is quoted", RDNS,
                        csr(P256).subject("CN=//m2mXexample.com/CSE3219/C9886,SERIALNUMBER=ae.1-7").uri(AE_ID).facts(),
                        ctx(), "subject.rdns", "does not match the pattern {certSubjectId}"),
                Arguments.of("rdns: '.' of enroleeId is quoted", RDNS,
                        csr(P256).subject("CN=" + AE_ID + ",SERIALNUMBER=aeX1-7").uri(AE_ID).facts(),
                        ctx(), "subject.rdns", "SERIALNUMBER=aeX1-7 does not match"),
                Arguments.of("rdns: empty subject lacks the required CN (first in sorted order)", RDNS,
                        csr(P256).uri(AE_ID).facts(), ctx(), "subject.rdns", "subject attribute CN is required"),
                Arguments.of("SAN kind not listed", SANS, good().san(GeneralName.rfc822Name, "ops@example.com").facts(),
                        ctx(), "san.type", "EMAIL:ops@example.com is not allowed by profile sans; allowed kinds "
                                + "besides the registered identity: [DNS, IP]"),
                Arguments.of("SAN beyond the identity in the default profile", yaml("two.yaml",
                        "subjectAltName: {maxCount: 2}\n"), good().san(GeneralName.dNSName, "x.example.com").facts(),
                        ctx(), "san.type", "it allows only the registered identity"),
                Arguments.of("SAN '.' of enroleeId is quoted", SANS,
                        good().san(GeneralName.dNSName, "cam.aeX1.devices.example.com").facts(), ctx(),
                        "san.pattern", "DNS:cam.aeX1.devices.example.com does not match the pattern"),
                Arguments.of("SAN count above maxCount", SANS, good()
                        .san(GeneralName.dNSName, "a.ae.1.devices.example.com")
                        .san(GeneralName.dNSName, "b.ae.1.devices.example.com")
                        .san(GeneralName.iPAddress, "192.0.2.7").facts(), ctx(),
                        "san.count", "allows at most 3 subjectAltName entries; the CSR has 4"),
                Arguments.of("SAN still bound: identity missing", SANS,
                        csr(P256).san(GeneralName.dNSName, "cam.ae.1.devices.example.com").facts(), ctx(),
                        "san.registered-identity", "must include " + IDENTITY),
                Arguments.of("SAN unbound: the identity is just another URI", UNBOUND, good().facts(), ctx(),
                        "san.type", "URI:" + AE_ID + " is not allowed"),
                Arguments.of("EKU neither allowed nor granted", EKUS, good().eku("1.3.6.1.5.5.7.3.3").facts(), ctx(),
                        "eku.suids", "1.3.6.1.5.5.7.3.3 is not granted to this Enrolee; its SUIDs [40, 43] grant ["
                                + suidEku(40) + ", " + suidEku(43) + "] and profile ekus allows [" + SERVER_AUTH + ", "
                                + CLIENT_AUTH + "]"),
                Arguments.of("copied list does not cover another extension", COPY,
                        good().extension("1.2.3.5", false, new DERUTF8String("x")).facts(), ctx(),
                        "extensions.unlisted", "1.2.3.5, which profile copy does not issue; it copies only "
                                + "[1.2.3.4, 1.3.6.1.4.1.99999.1]"),
                Arguments.of("unlisted critical extension with refuseUnlisted false", COPY_LENIENT,
                        good().extension("1.2.3.5", true, new DERUTF8String("x")).facts(), ctx(),
                        "extensions.unknown-critical", "1.2.3.5"),
                Arguments.of("challenge not required, but an unknown one sent", NO_CHALLENGE, good().facts(),
                        noChallengeFound(), "challenge.known", "not one this MEF issued"),
                Arguments.of("re-enrolment with another subject", DEFAULT, csr(P256).uri(AE_ID).facts(),
                        renewing(current(P256, 10)), "reenrol.same-names",
                        "must request the subject of the certificate being renewed (CN=" + AE_ID + "), not an empty one"),
                Arguments.of("re-enrolment with other subjectAltNames", SANS, good().facts(),
                        renewing(new CurrentCertificate("CN=" + AE_ID,
                                List.of(IDENTITY, new SubjectAltName(SubjectAltName.Kind.DNS, "cam.ae.1.devices.example.com")),
                                P256.getPublic().getEncoded(), NOW.plus(Duration.ofDays(10)))),
                        "reenrol.same-names", "must request the subjectAltName of the certificate being renewed"),
                Arguments.of("rekey where refused", NO_REKEY, good(P256_OTHER).facts(), renewing(current(P256, 5)),
                        "reenrol.rekey", "only for the same key"),
                Arguments.of("renewal window not yet open", DEFAULT, good().facts(), renewing(current(P256, 40)),
                        "reenrol.window", "renewal opens at " + NOW.plus(Duration.ofDays(10))),
                Arguments.of("renewal window of 10 days", NO_REKEY, good().facts(), renewing(current(P256, 11)),
                        "reenrol.window", "10 days before"),
                Arguments.of("renewing an expired certificate", ANYTIME, good().facts(), renewing(current(P256, 0)),
                        "reenrol.window", "expired at " + NOW),
                Arguments.of("rate at the limit", RATE3, good().facts(), issued(3),
                        "rate.per-enrolee", "already got 3 certificates in the last 24 hours; profile rate3 allows 3"),
                Arguments.of("default rate limit of 10", DEFAULT, good().facts(), issued(10),
                        "rate.per-enrolee", "allows 10"),
                Arguments.of("CSE under an AE-only profile", AE_ONLY,
                        csr(P256).san(GeneralName.dNSName, "cse1.m2m.example.com").facts(), cse(),
                        "enrolee.type", "Enrolee cse.1 is registered as CSE-ID"),
                Arguments.of("challengePassword of another session", BOUND,
                        good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(), session(Optional.of("c2Vzc2lvbi1i")),
                        "challenge.channel-binding", "made for another session"),
                Arguments.of("session without channel binding", BOUND,
                        good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(), session(Optional.empty()),
                        "challenge.channel-binding", "cannot provide"),
                Arguments.of("first enrolment without challengePassword, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().noChallenge().facts(), enrolling(Optional.empty()),
                        "challenge.present", "the CSR has no challengePassword attribute"),
                Arguments.of("first enrolment with an unknown challengePassword, reenrolment.challenge none",
                        RENEW_BY_CERTIFICATE, good().facts(), enrolling(Optional.empty()),
                        "challenge.known", "the challengePassword is not one this MEF issued"),
                Arguments.of("first enrolment with another Enrolee's challengePassword, reenrolment.challenge none",
                        RENEW_BY_CERTIFICATE, good().facts(), enrolling(Optional.of(OTHER_ENROLEES)),
                        "challenge.enrolee", "issued to another Enrolee, not to ae.1"),
                Arguments.of("first enrolment with a used challengePassword, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().facts(), enrolling(Optional.of(USED)), "challenge.unused", "already used"),
                Arguments.of("first enrolment with an expired challengePassword, reenrolment.challenge none",
                        RENEW_BY_CERTIFICATE, good().facts(), enrolling(Optional.of(EXPIRED)),
                        "challenge.unexpired", "expired at " + NOW),
                Arguments.of("first enrolment on another session, reenrolment.challenge none", BOUND_RENEW_BY_CERTIFICATE,
                        good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(), session(Optional.of("c2Vzc2lvbi1i")),
                        "challenge.channel-binding", "made for another session"),
                Arguments.of("re-enrolment without challengePassword, default reenrolment.challenge", DEFAULT,
                        good().noChallenge().facts(), renewing(Optional.empty()),
                        "challenge.present", "the CSR has no challengePassword attribute"),
                Arguments.of("re-enrolment with a used challengePassword, default reenrolment.challenge", DEFAULT,
                        good().facts(), renewing(Optional.of(USED)), "challenge.unused", "already used"),
                Arguments.of("re-enrolment on another session, channel binding, default reenrolment.challenge", BOUND,
                        good().challenge(new DERUTF8String("c2Vzc2lvbi1h")).facts(),
                        renewingOnSession(Optional.of("c2Vzc2lvbi1i")),
                        "challenge.channel-binding", "made for another session"),
                Arguments.of("re-enrolment with another subject, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        csr(P256).uri(AE_ID).noChallenge().facts(), renewing(Optional.empty()), "reenrol.same-names",
                        "must request the subject of the certificate being renewed"),
                Arguments.of("re-enrolment before the window opens, reenrolment.challenge none", RENEW_BY_CERTIFICATE,
                        good().noChallenge().facts(), ctx(Optional.empty(), Optional.of(current(P256, 40)), 0),
                        "reenrol.window", "renewal opens at " + NOW.plus(Duration.ofDays(10))));
    }

    @ParameterizedTest(name = "{0} -> {4}")
    @MethodSource("denied")
    void denies(String name, Profile profile, CsrFacts csr, EnrolmentContext ctx, String ruleId,
            String reasonMentions) {
        Decision decision = new PolicyEngine(profile).decide(csr, ctx);

        Decision.Deny deny = assertInstanceOf(Decision.Deny.class, decision, () -> "issued: " + decision);
        assertEquals(ruleId, deny.ruleId(), deny::reason);
        assertEquals(profile.name(), deny.profile());
        assertTrue(deny.reason().contains(reasonMentions),
                () -> "reason '" + deny.reason() + "' should mention '" + reasonMentions + "'");
    }

    static CertificateTemplate template(Profile profile, CsrFacts csr, EnrolmentContext ctx) {
        Decision decision = new PolicyEngine(profile).decide(csr, ctx);
        return assertInstanceOf(Decision.Issue.class, decision, () -> "denied: " + decision).template();
    }

    @Test
    void signatureAlgorithmsByNameAndByOidAreTheSame() {
        assertEquals(SHA384.signatureAlgorithmOids(),
                yaml("sha384.yaml", "signatureAlgorithms: [1.2.840.10045.4.3.3]\n").signatureAlgorithmOids());
        assertEquals(Set.of(Oids.ECDSA_WITH_SHA384), SHA384.signatureAlgorithmOids());
    }

    @Test
    void emptyModeIssuesAnEmptySubjectWhateverWasRequested() {
        CertificateTemplate t = template(EMPTY_SUBJECT, csr(P256).subject("O=Anything,CN=whatever").uri(AE_ID).facts(), ctx());

        assertEquals("", t.subject());
        assertEquals(List.of(IDENTITY), t.subjectAltNames());
    }

    @Test
    void rdnsModeCopiesTheCheckedSubject() {
        assertEquals(RDN_OK, template(RDNS, csr(P256).subject(RDN_OK).uri(AE_ID).facts(), ctx()).subject());
    }

    @Test
    void sanTemplateHasIdentityThenRequestedThenAddedNamesWithPlaceholdersFilledIn() {
        CertificateTemplate t = template(SANS, good().san(GeneralName.dNSName, "cam.ae.1.devices.example.com")
                .san(GeneralName.iPAddress, "192.0.2.7").facts(), ctx());

        assertEquals(List.of(IDENTITY,
                new SubjectAltName(SubjectAltName.Kind.DNS, "cam.ae.1.devices.example.com"),
                new SubjectAltName(SubjectAltName.Kind.IP, "192.0.2.7"),
                new SubjectAltName(SubjectAltName.Kind.URI, "urn:example:ae:ae.1"),
                new SubjectAltName(SubjectAltName.Kind.DNS, "ae.1.mgmt.example.com")), t.subjectAltNames());
    }

    @Test
    void unboundSanTemplateCarriesOnlyTheRequestedNames() {
        CertificateTemplate t = template(UNBOUND, csr(P256).san(GeneralName.dNSName, "gw.example.com").facts(), ctx());

        assertEquals(List.of(new SubjectAltName(SubjectAltName.Kind.DNS, "gw.example.com")), t.subjectAltNames());
        assertEquals("CN=" + AE_ID, t.subject(), "the subject mode is still IDENTITY");
    }

    @Test
    void withoutAddSuidEkusTheTemplateHasOnlyTheRequestedEkus() {
        assertEquals(List.of(CLIENT_AUTH), template(EKUS, good().eku(CLIENT_AUTH).facts(), ctx()).extendedKeyUsages());
        assertEquals(List.of(suidEku(43)), template(EKUS, good().eku(suidEku(43)).facts(), ctx()).extendedKeyUsages());
        assertEquals(List.of(), template(EKUS, good().facts(), ctx()).extendedKeyUsages());
    }

    @Test
    void withAddSuidEkusTheTemplateHasTheSuidEkusAndTheRequestedAllowedOnes() {
        assertEquals(List.of(suidEku(40), suidEku(43), CLIENT_AUTH),
                template(EKUS_ADDED, good().eku(CLIENT_AUTH).facts(), ctx()).extendedKeyUsages());
    }

    @Test
    void copiedExtensionsAreTheCsrBytesVerbatim() throws IOException {
        byte[] value = new DERUTF8String("hello").getEncoded(ASN1Encoding.DER);
        CsrFacts csr = good().extension("1.2.3.4", true, new DERUTF8String("hello")).facts();

        List<CsrFacts.RequestedExtension> copied = template(COPY, csr, ctx()).copiedExtensions();

        assertEquals(1, copied.size());
        assertEquals("1.2.3.4", copied.get(0).oid());
        assertTrue(copied.get(0).critical());
        assertArrayEquals(value, copied.get(0).value());
        assertArrayEquals(csr.requestedExtension("1.2.3.4").orElseThrow().value(), copied.get(0).value());
    }

    @Test
    void unlistedExtensionsAreDroppedNotCopiedWhenRefuseUnlistedIsFalse() {
        CsrFacts csr = good().extension("1.2.3.4", false, new DERUTF8String("kept"))
                .extension("1.2.3.5", false, new DERUTF8String("dropped")).facts();

        List<CsrFacts.RequestedExtension> copied = template(COPY_LENIENT, csr, ctx()).copiedExtensions();

        assertEquals(List.of("1.2.3.4"), copied.stream().map(CsrFacts.RequestedExtension::oid).toList());
    }

    @Test
    void challengeSettingsAreRead() {
        assertEquals(new Profile.Challenge(false, Duration.ofSeconds(120), false), NO_CHALLENGE.challenge());
    }

    @Test
    void validityDaysAndBackdateShapeTheTemplate() {
        CertificateTemplate t = template(SHORT, good().facts(), ctx());

        assertEquals(NOW.minusSeconds(300), t.notBefore());
        assertEquals(NOW.plus(Duration.ofDays(90)), t.notAfter());
    }

    @Test
    void revocationAndIssuerUrlsAreInTheTemplate() {
        CertificateTemplate t = template(URLS, good().facts(), ctx());

        assertEquals(List.of("http://crl.example.com/mef.crl"), t.crlDistributionPoints());
        assertEquals(List.of("http://ocsp.example.com", "http://ocsp2.example.com"), t.ocspUrls());
        assertEquals(List.of("http://pki.example.com/mef.cer"), t.caIssuersUrls());
    }

    @Test
    void aCertificateWithNamesTheMefAddedCanBeRenewed() {
        // First enrolment: the template gets the identity, the requested DNS name and the two added names.
        CsrFacts first = good().san(GeneralName.dNSName, "cam.ae.1.devices.example.com").facts();
        CertificateTemplate issued = template(SANS, first, ctx());
        CurrentCertificate current = new CurrentCertificate(issued.subject(), issued.subjectAltNames(),
                issued.subjectPublicKeyInfo(), NOW.plus(Duration.ofDays(10)));
        assertEquals(4, current.subjectAltNames().size());

        // The same request renews it; requesting the added names too is not the same request.
        CertificateTemplate renewed = template(SANS, first, renewing(current));
        assertEquals(issued.subjectAltNames(), renewed.subjectAltNames());
        Decision.Deny deny = assertInstanceOf(Decision.Deny.class, new PolicyEngine(SANS).decide(
                good().san(GeneralName.dNSName, "cam.ae.1.devices.example.com")
                        .uri("urn:example:ae:ae.1").facts(), renewing(current)));
        assertEquals("reenrol.same-names", deny.ruleId(), deny.reason());
        // Leaving out a name the Enrolee requested is still a change of names.
        assertEquals("reenrol.same-names", assertInstanceOf(Decision.Deny.class,
                new PolicyEngine(SANS).decide(good().facts(), renewing(current))).ruleId());
    }

    @Test
    void reenrolmentChallengeNoneDecidesEveryFirstEnrolmentAsTheDefaultDoes() {
        List<CsrFacts> csrs = List.of(good().facts(), good().noChallenge().facts());
        List<Optional<IssuedChallenge>> found = List.of(Optional.of(FRESH), Optional.empty(), Optional.of(USED),
                Optional.of(EXPIRED), Optional.of(OTHER_ENROLEES));

        for (CsrFacts csr : csrs) {
            for (Optional<IssuedChallenge> challenge : found) {
                Decision byDefault = new PolicyEngine(DEFAULT).decide(csr, enrolling(challenge));
                Decision byCertificate = new PolicyEngine(RENEW_BY_CERTIFICATE).decide(csr, enrolling(challenge));
                String what = "challengePassword " + csr.challengePassword().isPresent() + ", found " + challenge;

                assertEquals(byDefault.getClass(), byCertificate.getClass(), what);
                if (byDefault instanceof Decision.Deny deny) {
                    Decision.Deny other = (Decision.Deny) byCertificate;
                    assertEquals(deny.ruleId(), other.ruleId(), what);
                    assertEquals(deny.reason(), other.reason(), what);
                }
            }
        }
    }

    @Test
    void rateLimitRefusesExactlyFromTheLimit() {
        PolicyEngine engine = new PolicyEngine(RATE3);
        CsrFacts csr = good().facts();

        for (int lastDay = 0; lastDay < 3; lastDay++) {
            assertInstanceOf(Decision.Issue.class, engine.decide(csr, issued(lastDay)), "below the limit: " + lastDay);
        }
        for (int lastDay = 3; lastDay < 6; lastDay++) {
            Decision.Deny deny = assertInstanceOf(Decision.Deny.class, engine.decide(csr, issued(lastDay)));
            assertEquals("rate.per-enrolee", deny.ruleId());
        }
    }
}
