package org.mefgateway.policy;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A certificate profile: the operator's policy for one EST label. Operators write it as a YAML
 * file ({@link ProfileFile}); every field is a plain value so that the file maps onto this
 * record one to one, and the compact constructors are the single place where a profile is
 * validated, whatever its source. The reference of every field, with its default, is in
 * {@code policy-engine/README.md}.
 *
 * @param name                   profile name (the EST label, or "default"), reported in every {@link Decision}
 * @param certSubjectTypes       kinds of registered identity this profile issues for (AE-ID, CSE-ID, Node-ID)
 * @param keys                   subject public keys accepted
 * @param signatureAlgorithmOids CSR signature algorithms accepted (TS-0003 10.1: ecdsa-with-SHA256)
 * @param subject                what the CSR's subject may be and what the certificate's subject is
 * @param subjectAltName         which names the CSR may request and which the certificate carries
 * @param eku                    extended key usages: the SUID mapping and what may be requested
 * @param extensions             extensions copied from the CSR and extensions the CA adds
 * @param validity               lifetime of an issued certificate (capped at the CA's notAfter)
 * @param backdate               how far notBefore is set before the decision time, so that
 *                               Enrolees whose clocks run slightly behind accept the certificate
 * @param challenge              the challengePassword requirement
 * @param reenrolment            what a re-enrolment (RFC 7030 4.2.2) may change
 * @param maxIssuancesPerDay     certificates one Enrolee may get in any 24 hours; 0 = no limit
 * @param approval               whether an operator approves each request before it is signed
 * @param redeliveryWindow       how long a repeat of an issued request (same Enrolee, key and names)
 *                               gets the same certificate again instead of a refusal; zero = never
 * @param caKey                  the gateway's CA key that signs for this profile ("default" unless
 *                               the profile names one of the keys configured under hsm.keys)
 */
public record Profile(
        String name,
        Set<CertSubjectType> certSubjectTypes,
        Keys keys,
        Set<String> signatureAlgorithmOids,
        Subject subject,
        SubjectAltNames subjectAltName,
        Ekus eku,
        Extensions extensions,
        Duration validity,
        Duration backdate,
        Challenge challenge,
        Reenrolment reenrolment,
        int maxIssuancesPerDay,
        Approval approval,
        Duration redeliveryWindow,
        String caKey) {

    /** The CA key a profile uses unless it names another (the gateway's top-level hsm key). */
    public static final String DEFAULT_CA_KEY = "default";

    /** SUIDs for certificate credentials (TS-0004 m2m:suid). */
    static final int FIRST_SUID = 40;
    static final int LAST_SUID = 45;

    /** Dotted OID: first arc 0..2, then at least one more arc, no leading zeros. */
    private static final Pattern OID = Pattern.compile("[0-2](\\.(0|[1-9][0-9]*))+");

    /**
     * Extensions the CA writes itself from policy; copying them from the CSR would let a request
     * override the policy (basicConstraints above all: RFC 5280 4.2.1.9).
     */
    static final Set<String> CA_CONTROLLED = Set.of(Oids.SUBJECT_ALT_NAME, Oids.EXTENDED_KEY_USAGE, Oids.KEY_USAGE,
            Oids.BASIC_CONSTRAINTS, Oids.SUBJECT_KEY_IDENTIFIER, Oids.AUTHORITY_KEY_IDENTIFIER,
            Oids.CRL_DISTRIBUTION_POINTS, Oids.AUTHORITY_INFO_ACCESS, Oids.NAME_CONSTRAINTS, Oids.CERTIFICATE_POLICIES);

    public Profile {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("profile name must not be blank");
        }
        certSubjectTypes = Set.copyOf(certSubjectTypes);
        if (certSubjectTypes.isEmpty()) {
            throw new IllegalArgumentException("certSubjectTypes must name at least one of AE-ID, CSE-ID, Node-ID");
        }
        Objects.requireNonNull(keys, "keys");
        signatureAlgorithmOids = Set.copyOf(signatureAlgorithmOids);
        if (signatureAlgorithmOids.isEmpty()) {
            throw new IllegalArgumentException("at least one signature algorithm is required");
        }
        for (String oid : signatureAlgorithmOids) {
            requireOid("signature algorithm", oid);
        }
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(subjectAltName, "subjectAltName");
        Objects.requireNonNull(eku, "eku");
        Objects.requireNonNull(extensions, "extensions");
        requirePositive("validity", validity);
        Objects.requireNonNull(backdate, "backdate");
        if (backdate.isNegative()) {
            throw new IllegalArgumentException("backdate must not be negative, not " + backdate);
        }
        Objects.requireNonNull(challenge, "challenge");
        Objects.requireNonNull(reenrolment, "reenrolment");
        if (maxIssuancesPerDay < 0) {
            throw new IllegalArgumentException("maxIssuancesPerDay must be 0 (no limit) or more, not " + maxIssuancesPerDay);
        }
        Objects.requireNonNull(approval, "approval");
        Objects.requireNonNull(redeliveryWindow, "redeliveryWindow");
        if (redeliveryWindow.isNegative()) {
            throw new IllegalArgumentException("redelivery window must not be negative, not " + redeliveryWindow);
        }
        if (caKey == null || !caKey.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalArgumentException("caKey must be the name of a configured CA key, not '" + caKey + "'");
        }
        if (challenge.channelBinding() && challenge.required()) {
            throw new IllegalArgumentException("with channelBinding the challengePassword carries the TLS channel binding "
                    + "(RFC 7030 3.5), so it cannot also carry a MEF challenge: set challenge.required to false");
        }
        if (subject.mode() == Subject.Mode.EMPTY && !subjectAltName.bindToRegisteredIdentity()
                && subjectAltName.add().isEmpty() && subjectAltName.types().isEmpty()) {
            throw new IllegalArgumentException("with an empty subject the certificate needs a subjectAltName "
                    + "(RFC 5280 4.1.2.6): bind it to the registered identity, allow some types, or add one");
        }
    }

    /**
     * Accepted subject keys.
     *
     * @param ecCurves        named curves accepted for EC keys (JCA/SEC names: secp256r1, secp384r1, secp521r1); empty = no EC
     * @param ecUncompressed  EC points must be uncompressed (TS-0003 10.1)
     * @param rsaMinBits      smallest RSA modulus accepted; 0 = RSA refused
     * @param ed25519         Ed25519 keys accepted
     */
    public record Keys(Set<String> ecCurves, boolean ecUncompressed, int rsaMinBits, boolean ed25519) {
        /** Curves this gateway can issue for: the ones SunEC and Bouncy Castle both name. */
        public static final Set<String> KNOWN_CURVES = Set.of("secp256r1", "secp384r1", "secp521r1");

        public Keys {
            ecCurves = Set.copyOf(ecCurves);
            for (String curve : ecCurves) {
                if (!KNOWN_CURVES.contains(curve)) {
                    throw new IllegalArgumentException("unknown curve '" + curve + "'; known: secp256r1 (P-256), "
                            + "secp384r1 (P-384), secp521r1 (P-521)");
                }
            }
            if (rsaMinBits != 0 && rsaMinBits < 2048) {
                // NIST SP 800-131A: RSA below 2048 bits is disallowed for signatures.
                throw new IllegalArgumentException("rsaMinBits must be 0 (RSA refused) or at least 2048, not " + rsaMinBits);
            }
            if (ecCurves.isEmpty() && rsaMinBits == 0 && !ed25519) {
                throw new IllegalArgumentException("the profile accepts no key type at all");
            }
        }
    }

    /**
     * The subject DN.
     *
     * @param mode  IDENTITY: the CSR's subject is empty or CN=certSubjectID, the certificate gets
     *              CN=certSubjectID (TS-0003 10.1); EMPTY: the CSR may have any subject, the
     *              certificate's is empty; RDNS: the CSR's subject is checked against {@code rdns}
     *              and copied
     * @param rdns  for RDNS: attribute (CN, O, OU, C, L, ST, serialNumber, ...) to its rule
     */
    public record Subject(Mode mode, Map<String, Rdn> rdns) {
        public enum Mode { IDENTITY, EMPTY, RDNS }

        public Subject {
            Objects.requireNonNull(mode, "mode");
            // Sorted, and kept sorted: Map.copyOf would iterate in a per-JVM random order, so the
            // "first missing required attribute" named in a refusal could change between restarts.
            rdns = java.util.Collections.unmodifiableMap(new TreeMap<>(rdns));
            if (mode == Mode.RDNS && rdns.isEmpty()) {
                throw new IllegalArgumentException("subject mode RDNS needs at least one entry in rdns");
            }
            rdns.keySet().forEach(Profile::requireKnownAttribute);
            if (mode != Mode.RDNS && !rdns.isEmpty()) {
                throw new IllegalArgumentException("subject rdns are only used with mode RDNS, not " + mode);
            }
        }
    }

    /**
     * One attribute of the subject in RDNS mode.
     *
     * @param required the CSR must have it
     * @param pattern  the whole value must match (Java regex); {@code {certSubjectId}} and
     *                 {@code {enroleeId}} stand for the registered Enrolee's values, quoted
     */
    public record Rdn(boolean required, String pattern) {
        public Rdn {
            compileTemplate(pattern, "subject pattern");
        }
    }

    /** Refuses attribute names Bouncy Castle's RFC 4519 style does not know: a typo would refuse every CSR. */
    static void requireKnownAttribute(String name) {
        try {
            org.bouncycastle.asn1.x500.style.BCStyle.INSTANCE.attrNameToOID(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("subject attribute '" + name + "' is unknown; use CN, O, OU, C, L, ST, "
                    + "serialNumber, ...");
        }
    }

    /**
     * The subjectAltName extension.
     *
     * @param types                     GeneralName kinds the CSR may request besides the registered identity
     * @param patterns                  per kind, a Java regex a requested name must match
     *                                  (with {@code {certSubjectId}} / {@code {enroleeId}} placeholders)
     * @param bindToRegisteredIdentity  the CSR must request the Enrolee's certSubjectID in the
     *                                  form its certSubjectType dictates (TS-0003 10.1, 8.3.6 step 8),
     *                                  and the certificate always carries it
     * @param maxCount                  most names a CSR may request
     * @param add                       names the MEF adds itself (TS-0003 step 9b), e.g.
     *                                  {@code URI:urn:example:{enroleeId}}
     */
    public record SubjectAltNames(Set<SubjectAltName.Kind> types, Map<SubjectAltName.Kind, String> patterns,
                                  boolean bindToRegisteredIdentity, int maxCount, List<SubjectAltName> add) {
        public SubjectAltNames {
            types = types.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(types));
            if (types.contains(SubjectAltName.Kind.OTHER)) {
                throw new IllegalArgumentException("subjectAltName types: OTHER (otherName, directoryName, ...) cannot be "
                        + "allowed; allow DNS, URI, EMAIL or IP");
            }
            patterns = Map.copyOf(patterns);
            for (Map.Entry<SubjectAltName.Kind, String> p : patterns.entrySet()) {
                compileTemplate(p.getValue(), "subjectAltName pattern for " + p.getKey());
            }
            if (maxCount < 1) {
                throw new IllegalArgumentException("subjectAltName maxCount must be at least 1, not " + maxCount);
            }
            for (SubjectAltName.Kind kind : types) {
                // Without a pattern, an Enrolee could claim any name of that kind, another Enrolee's included.
                if (!patterns.containsKey(kind)) {
                    throw new IllegalArgumentException("subjectAltName type " + kind + " is allowed without a pattern, so an "
                            + "Enrolee could request any " + kind + " name, another's included: add patterns." + kind);
                }
            }
            if (bindToRegisteredIdentity && !types.isEmpty() && maxCount == 1) {
                throw new IllegalArgumentException("subjectAltName maxCount 1 leaves no room besides the registered identity "
                        + "for the types " + types.stream().sorted().toList() + ": raise maxCount");
            }
            add = List.copyOf(add);
            for (SubjectAltName extra : add) {
                if (extra.kind() == SubjectAltName.Kind.OTHER) {
                    throw new IllegalArgumentException("subjectAltName add: only DNS, URI, EMAIL or IP names can be added");
                }
            }
        }
    }

    /**
     * Extended key usages (TS-0003 8.3.6 steps 7 and 9a).
     *
     * @param suidEkus    EKU OID for each Security Usage Identifier (TS-0004 {@code m2m:suid}):
     *                    40 MEF, 41 MAF, 42 SAEF, 43 ESPrim, 44 ESData encryption, 45 ESData
     *                    signature. The standards assign none, so this is operator configuration;
     *                    SUIDs without an entry get no EKU
     * @param allowed     further EKUs a CSR may request (e.g. id-kp-clientAuth), copied when requested
     * @param addSuidEkus the CA adds the EKUs of all the Enrolee's SUIDs (step 9a); false = the
     *                    certificate carries only the requested ones
     */
    public record Ekus(Map<Integer, String> suidEkus, Set<String> allowed, boolean addSuidEkus) {
        public Ekus {
            suidEkus = Map.copyOf(suidEkus);
            for (Map.Entry<Integer, String> e : suidEkus.entrySet()) {
                if (e.getKey() < FIRST_SUID || e.getKey() > LAST_SUID) {
                    throw new IllegalArgumentException("SUID " + e.getKey() + " is not a certificate SUID ("
                            + FIRST_SUID + ".." + LAST_SUID + ")");
                }
                requireOid("EKU of SUID " + e.getKey(), e.getValue());
            }
            allowed = Set.copyOf(allowed);
            for (String oid : allowed) {
                requireOid("allowed EKU", oid);
            }
        }

        /** EKU OIDs of those of {@code suids} that have a mapping, ordered by SUID. */
        public List<String> forSuids(Set<Integer> suids) {
            return suids.stream().sorted().filter(suidEkus::containsKey).map(suidEkus::get).toList();
        }
    }

    /**
     * Extensions besides the ones the CA always writes (subjectAltName, EKU, keyUsage
     * digitalSignature, basicConstraints cA=FALSE, SKI, AKI).
     *
     * @param copy                  OIDs of non-critical extensions copied verbatim from the CSR
     * @param refuseUnlisted        a CSR requesting any other extension is refused rather than
     *                              getting a certificate without it
     * @param crlDistributionPoints URLs written into cRLDistributionPoints
     * @param ocspUrls              URLs written into authorityInfoAccess id-ad-ocsp
     * @param caIssuersUrls         URLs written into authorityInfoAccess id-ad-caIssuers
     */
    public record Extensions(Set<String> copy, boolean refuseUnlisted, List<String> crlDistributionPoints,
                             List<String> ocspUrls, List<String> caIssuersUrls) {
        public Extensions {
            copy = Set.copyOf(copy);
            for (String oid : copy) {
                requireOid("copied extension", oid);
                if (CA_CONTROLLED.contains(oid)) {
                    throw new IllegalArgumentException("extension " + oid + " is written by the CA from policy and "
                            + "cannot be copied from a CSR");
                }
            }
            crlDistributionPoints = requireUrls("crlDistributionPoints", crlDistributionPoints);
            ocspUrls = requireUrls("ocsp", ocspUrls);
            caIssuersUrls = requireUrls("caIssuers", caIssuersUrls);
        }
    }

    /**
     * The challengePassword (TS-0003 8.3.6 steps 5, 7, 8). A challenge is always single use:
     * a reusable one would let a captured CSR be replayed for a second certificate.
     *
     * @param required       a CSR without challengePassword is refused; when false, the TLS client
     *                       certificate alone authenticates the request (a challenge that is
     *                       present is still checked)
     * @param lifetime       how long a challenge handed out by /csrattrs stays valid
     * @param channelBinding the challengePassword must be the channel binding of the TLS session
     *                       the CSR arrives on (RFC 7030 3.5; tls-exporter, RFC 9266, on TLS 1.3),
     *                       proving that the key holder is the TLS client
     */
    public record Challenge(boolean required, Duration lifetime, boolean channelBinding) {
        public Challenge {
            requirePositive("challenge lifetime", lifetime);
        }
    }

    /**
     * Re-enrolment (RFC 7030 4.2.2). Subject and subjectAltName of the CSR must equal those of the
     * certificate being renewed: the RFC says MUST, so it is not a choice.
     *
     * @param allowRekey    the CSR may carry a new public key (false: renewal of the same key only)
     * @param renewalWindow how long before its notAfter a certificate may be renewed; zero = any time
     * @param challenge     whether the challengePassword rules apply to a re-enrolment as to a first
     *                      enrolment (TS-0003 8.3.6.2.3, the oneM2M default) or not at all
     */
    public record Reenrolment(boolean allowRekey, Duration renewalWindow, ReenrolmentChallenge challenge) {
        public Reenrolment {
            Objects.requireNonNull(challenge, "challenge");
            Objects.requireNonNull(renewalWindow, "renewalWindow");
            if (renewalWindow.isNegative()) {
                throw new IllegalArgumentException("renewal window must not be negative, not " + renewalWindow);
            }
        }
    }

    /**
     * What a re-enrolment proves with its challengePassword. {@code ENROLMENT}: the challenge
     * rules apply as on a first enrolment (TS-0003 8.3.6.2.3). {@code NONE}: the certificate being
     * renewed, presented on the TLS session, is the proof, and a challengePassword is neither
     * needed nor looked at (for clients that build the renewal CSR from the old certificate).
     */
    public enum ReenrolmentChallenge { ENROLMENT, NONE }

    /**
     * Operator approval (RFC 7030 4.2.3): the request is accepted with 202 and Retry-After, and
     * the certificate is signed only when an operator approves it.
     *
     * @param required             every request of this profile waits for an operator
     * @param retryAfter           what the 202 tells the client to wait before asking again
     * @param maxPendingPerEnrolee requests of one Enrolee that may wait at once; another one is refused
     */
    public record Approval(boolean required, Duration retryAfter, int maxPendingPerEnrolee) {
        public Approval {
            requirePositive("approval retryAfter", retryAfter);
            if (maxPendingPerEnrolee < 1) {
                throw new IllegalArgumentException("approval maxPendingPerEnrolee must be at least 1, not " + maxPendingPerEnrolee);
            }
        }
    }

    /**
     * The oneM2M default (TS-0003 10.1): for every kind of identity, EC P-256 keys in uncompressed form, ecdsa-with-SHA256,
     * subject CN=certSubjectID, exactly the registered identity in subjectAltName, the EKUs of the
     * Enrolee's SUIDs mapped to {@link Oids#SUID_EKU_ARC}{@code .n}, no other extension, one year
     * of validity with one minute of backdating, a required challenge valid for 10 minutes,
     * re-key allowed in the last 30 days, at most 10 certificates per Enrolee per day, no approval,
     * a repeated request answered with its certificate for as long as a challenge lives.
     */
    public static Profile oneM2MDefault(String name) {
        return new Profile(name,
                EnumSet.allOf(CertSubjectType.class),
                new Keys(Set.of("secp256r1"), true, 0, false),
                Set.of(Oids.ECDSA_WITH_SHA256),
                new Subject(Subject.Mode.IDENTITY, Map.of()),
                new SubjectAltNames(Set.of(), Map.of(), true, 1, List.of()),
                new Ekus(defaultSuidEkus(), Set.of(), true),
                new Extensions(Set.of(), true, List.of(), List.of(), List.of()),
                Duration.ofDays(365),
                Duration.ofMinutes(1),
                new Challenge(true, Duration.ofMinutes(10), false),
                new Reenrolment(true, Duration.ofDays(30), ReenrolmentChallenge.ENROLMENT),
                10,
                new Approval(false, Duration.ofMinutes(1), 1),
                Duration.ofMinutes(10),
                DEFAULT_CA_KEY);
    }

    /** SUID n to {@link Oids#SUID_EKU_ARC}{@code .n}, for n in 40..45. */
    public static Map<Integer, String> defaultSuidEkus() {
        Map<Integer, String> ekus = new TreeMap<>();
        for (int suid = FIRST_SUID; suid <= LAST_SUID; suid++) {
            ekus.put(suid, Oids.SUID_EKU_ARC + "." + suid);
        }
        return ekus;
    }

    /** This profile under another name (the file name decides the name, whatever the file says). */
    public Profile named(String newName) {
        return new Profile(newName, certSubjectTypes, keys, signatureAlgorithmOids, subject, subjectAltName, eku, extensions, validity,
                backdate, challenge, reenrolment, maxIssuancesPerDay, approval, redeliveryWindow, caKey);
    }

    private static void requirePositive(String what, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(what + " must be positive, not " + d);
        }
    }

    static void requireOid(String what, String oid) {
        if (oid == null || !OID.matcher(oid).matches()) {
            throw new IllegalArgumentException(what + " '" + oid + "' is not a dotted OID");
        }
    }

    private static List<String> requireUrls(String what, List<String> urls) {
        for (String url : urls) {
            if (url == null || !url.matches("(?i)(https?|ldap)://[\\x21-\\x7e]+")) {
                throw new IllegalArgumentException(what + " URL '" + url + "' must be an http, https or ldap URL");
            }
        }
        return List.copyOf(urls);
    }

    /** Placeholders are replaced by quoted values at decision time; the rest must be a valid regex. */
    static void compileTemplate(String pattern, String what) {
        Objects.requireNonNull(pattern, what);
        try {
            Pattern.compile(pattern.replace("{certSubjectId}", "x").replace("{enroleeId}", "x"));
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException(what + " '" + pattern + "' is not a valid regular expression: "
                    + e.getDescription());
        }
    }

    /**
     * Patterns without placeholders, compiled once: compiling on every decision tripled the cost of
     * a decision in the JMH benchmark. Bounded by the patterns written in profile files.
     */
    private static final java.util.concurrent.ConcurrentMap<String, Pattern> FIXED_PATTERNS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** The pattern for one Enrolee: placeholders replaced by the literal (quoted) registered values. */
    static Pattern instantiate(String pattern, RegisteredEnrolee enrolee) {
        if (!pattern.contains("{certSubjectId}") && !pattern.contains("{enroleeId}")) {
            return FIXED_PATTERNS.computeIfAbsent(pattern, Pattern::compile);
        }
        return Pattern.compile(fill(pattern, enrolee, Pattern::quote));
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{(certSubjectId|enroleeId)\\}");

    /**
     * Replaces the placeholders in one pass, each by {@code escape} of its value. Two chained
     * {@code replace} calls would also replace a placeholder written inside the first value (a
     * certSubjectID containing "{enroleeId}"), breaking the quoting: found by fuzzing.
     */
    static String fill(String template, RegisteredEnrolee enrolee, java.util.function.UnaryOperator<String> escape) {
        return PLACEHOLDER.matcher(template).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(
                escape.apply(m.group(1).equals("certSubjectId") ? enrolee.certSubjectId() : enrolee.id())));
    }
}
