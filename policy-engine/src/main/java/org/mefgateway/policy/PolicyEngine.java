package org.mefgateway.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;

/**
 * The MEF's registration-authority decision (TS-0003 8.3.6, step 8: "MEF validates challenge,
 * identifiers and EKUs"): given a parsed CSR and what the MEF knows about the request, either a
 * complete certificate template or the first rule the request breaks.
 *
 * <p>RFC 7030 3.7: "The decision to issue a certificate to a client is always controlled by local
 * CA policy." This class is that policy. It is pure: no I/O, no clock (the time is
 * {@link EnrolmentContext#now()}), safe to share between threads.
 *
 * <p>Rules run in the fixed order of {@link #RULES}; the first refusal wins, so cheap structural
 * checks come before the checks that say something about identities.
 */
public final class PolicyEngine {

    /** The extensions whose meaning the MEF knows; any other one marked critical is refused unless copied. */
    private static final Set<String> UNDERSTOOD_CRITICAL =
            Set.of(Oids.SUBJECT_ALT_NAME, Oids.EXTENDED_KEY_USAGE, Oids.KEY_USAGE, Oids.BASIC_CONSTRAINTS);

    /**
     * Requested extensions the CA answers from policy (it writes its own subjectAltName, EKU,
     * keyUsage, basicConstraints and SKI): requesting them is never "unlisted".
     */
    private static final Set<String> ANSWERED_FROM_POLICY = Set.of(Oids.SUBJECT_ALT_NAME, Oids.EXTENDED_KEY_USAGE,
            Oids.KEY_USAGE, Oids.BASIC_CONSTRAINTS, Oids.SUBJECT_KEY_IDENTIFIER);

    private static final DefaultAlgorithmNameFinder ALGORITHM_NAMES = new DefaultAlgorithmNameFinder();

    /**
     * RFC 2986 3, note 2: "The signature on the certification request prevents an entity from
     * requesting a certificate with another party's public key." RFC 7030 3.4 relies on it as the
     * proof of possession. (The gateway answers a refusal by this rule as a malformed request.)
     */
    static final Rule CSR_SIGNATURE = new Rule("csr.signature", Rule.Kind.PROFILE, (csr, ctx, profile) -> csr.signatureValid()
            ? Optional.empty()
            : Optional.of("the CSR signature does not verify with the CSR's own public key (no proof of possession)"));

    /** TS-0003 10.1: oneM2M certificates are signed with ECDSA with SHA-256; the profile lists what it accepts. */
    static final Rule CSR_SIGNATURE_ALGORITHM = new Rule("csr.signature-algorithm", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            profile.signatureAlgorithmOids().contains(csr.signatureAlgorithmOid())
                    ? Optional.empty()
                    : Optional.of("signature algorithm " + algorithmName(csr.signatureAlgorithmOid())
                            + " is not allowed by profile " + profile.name() + "; allowed: "
                            + profile.signatureAlgorithmOids().stream().sorted().map(PolicyEngine::algorithmName)
                                    .collect(Collectors.joining(", "))));

    /**
     * TS-0003 10.1: the subject public key of a oneM2M certificate is an EC key on P-256
     * (secp256r1), in uncompressed form (SEC 1 2.3.3: the point starts with 0x04). A profile may
     * accept more curves, RSA from a minimum size (NIST SP 800-131A: at least 2048) or Ed25519.
     */
    static final Rule KEY_TYPE = new Rule("key.type", Rule.Kind.PROFILE, (csr, ctx, profile) -> {
        Profile.Keys keys = profile.keys();
        String has = csr.keyAlgorithm() + csr.ecCurve().map(c -> " " + c).orElse("")
                + (csr.keySizeBits() > 0 ? " (" + csr.keySizeBits() + " bits)" : "");
        boolean accepted = switch (csr.keyAlgorithm()) {
            case "EC" -> csr.ecCurve().filter(keys.ecCurves()::contains).isPresent();
            case "RSA" -> keys.rsaMinBits() > 0 && csr.keySizeBits() >= keys.rsaMinBits();
            case "Ed25519" -> keys.ed25519();
            default -> false;
        };
        if (!accepted) {
            return Optional.of("profile " + profile.name() + " accepts " + describe(keys) + "; the CSR has " + has);
        }
        if ("EC".equals(csr.keyAlgorithm()) && keys.ecUncompressed()) {
            byte[] point = SubjectPublicKeyInfo.getInstance(csr.subjectPublicKeyInfo()).getPublicKeyData().getOctets();
            if (point.length == 0 || point[0] != 0x04) {
                return Optional.of("the EC public key must be an uncompressed point (TS-0003 10.1); the CSR has a compressed one");
            }
        }
        return Optional.empty();
    });

    /**
     * TS-0003 8.3.9.7: the operator registers each Enrolee with a certSubjectType; a profile made
     * for one kind of identity (e.g. AE certificates) does not issue for another.
     */
    static final Rule ENROLEE_TYPE = new Rule("enrolee.type", Rule.Kind.CALLER, (csr, ctx, profile) ->
            profile.certSubjectTypes().contains(ctx.enrolee().type())
                    ? Optional.empty()
                    : Optional.of("profile " + profile.name() + " issues certificates for "
                            + profile.certSubjectTypes().stream().sorted().map(PolicyEngine::typeName).toList()
                            + "; Enrolee " + ctx.enrolee().id() + " is registered as " + typeName(ctx.enrolee().type())
                            + ": use the label of a profile for it"));

    /**
     * TS-0003 8.3.6, steps 5 and 7: the MEF hands out a challengePassword with the CSR
     * attributes and the Enrolee includes it in its CSR. A profile may waive it (the bootstrap
     * TLS client certificate then authenticates alone).
     */
    static final Rule CHALLENGE_PRESENT = new Rule("challenge.present", Rule.Kind.CHALLENGE, (csr, ctx, profile) ->
            csr.challengePassword().isPresent() || !profile.challenge().required() || !challengeApplies(ctx, profile)
                    ? Optional.empty()
                    : Optional.of("the CSR has no challengePassword attribute; request one from /csrattrs first"));

    /**
     * RFC 7030 3.5: "the client ... include[s] the tls-unique value ... in the challengePassword"
     * so that the CSR is proven to come over this TLS session (RFC 9266 tls-exporter on TLS 1.3,
     * where tls-unique does not exist). A CSR built for another session is refused.
     */
    static final Rule CHALLENGE_CHANNEL_BINDING = new Rule("challenge.channel-binding", Rule.Kind.CHALLENGE, (csr, ctx, profile) -> {
        if (!profile.challenge().channelBinding() || !challengeApplies(ctx, profile)) {
            return Optional.empty();
        }
        if (ctx.channelBinding().isEmpty()) {
            return Optional.of("profile " + profile.name() + " requires channel binding, which this TLS session cannot "
                    + "provide: use TLS 1.3 (tls-exporter, RFC 9266)");
        }
        return csr.challengePassword().filter(ctx.channelBinding().get()::equals).isPresent()
                ? Optional.empty()
                : Optional.of("the challengePassword must be the base64 tls-exporter channel binding (RFC 9266) of the "
                        + "TLS session that carries the CSR (RFC 7030 3.5); this CSR was made for another session");
    });

    /**
     * TS-0003 8.3.6, step 8: the MEF validates the challenge, so it must be one this MEF issued.
     * A challengePassword that is present is checked even where the profile does not require one.
     */
    static final Rule CHALLENGE_KNOWN = new Rule("challenge.known", Rule.Kind.CHALLENGE, (csr, ctx, profile) ->
            csr.challengePassword().isEmpty() || ctx.challenge().isPresent() || profile.challenge().channelBinding()
                    || !challengeApplies(ctx, profile)
                    ? Optional.empty()
                    : Optional.of("the challengePassword is not one this MEF issued; request a fresh one from /csrattrs"));

    /**
     * TS-0003 8.3.6, steps 4-5: the challenge is handed to the Enrolee the MEF instructed, so it
     * binds the CSR to that Enrolee. The reason does not name the other Enrolee.
     */
    static final Rule CHALLENGE_ENROLEE = new Rule("challenge.enrolee", Rule.Kind.CHALLENGE, (csr, ctx, profile) ->
            ctx.challenge().filter(c -> challengeApplies(ctx, profile) && !c.enroleeId().equals(ctx.enrolee().id()))
                    .map(c -> "the challengePassword was issued to another Enrolee, not to " + ctx.enrolee().id()));

    /** TS-0003 8.3.6, step 8: a challenge is single use, so a replayed CSR is refused. */
    static final Rule CHALLENGE_UNUSED = new Rule("challenge.unused", Rule.Kind.CHALLENGE, (csr, ctx, profile) ->
            ctx.challenge().filter(c -> challengeApplies(ctx, profile) && c.used())
                    .map(c -> "the challengePassword was already used; request a fresh one from /csrattrs"));

    /** TS-0003 8.3.6, step 8: a challenge expires (profile challenge lifetime), bounding the replay window. */
    static final Rule CHALLENGE_UNEXPIRED = new Rule("challenge.unexpired", Rule.Kind.CHALLENGE, (csr, ctx, profile) ->
            ctx.challenge().filter(c -> challengeApplies(ctx, profile) && !ctx.now().isBefore(c.expiresAt()))
                    .map(c -> "the challengePassword expired at " + c.expiresAt()
                            + "; request a fresh one from /csrattrs"));

    /**
     * TS-0003 8.3.6.2.3 checks the challenge on re-enrolment as on a first enrolment; a profile
     * with {@code reenrolment.challenge: none} lets the certificate being renewed, presented on the
     * TLS session, stand as the proof instead.
     */
    private static boolean challengeApplies(EnrolmentContext ctx, Profile profile) {
        return ctx.current().isEmpty() || profile.reenrolment().challenge() == Profile.ReenrolmentChallenge.ENROLMENT;
    }

    /**
     * RFC 7030 4.2.2: "The request Subject field and SubjectAltName extension MUST be identical
     * to the corresponding fields in the certificate being renewed or rekeyed."
     */
    static final Rule REENROL_SAME_NAMES = new Rule("reenrol.same-names", Rule.Kind.CALLER, (csr, ctx, profile) ->
            ctx.current().flatMap(current -> {
                if (!Objects.equals(parseSubject(current.subject()), parseSubject(csr.subject()))) {
                    return Optional.of("a re-enrolment must request the subject of the certificate being renewed ("
                            + (current.subject().isEmpty() ? "empty" : current.subject()) + "), not "
                            + (csr.subject().isEmpty() ? "an empty one" : csr.subject()) + " (RFC 7030 4.2.2)");
                }
                // The names the MEF adds itself (subjectAltName.add) are in the current certificate but
                // are not the Enrolee's to request: san.type/san.pattern would refuse them in a CSR.
                List<SubjectAltName> added = addedNames(profile, ctx.enrolee());
                List<SubjectAltName> requestable = current.subjectAltNames().stream()
                        .filter(san -> !added.contains(san)).toList();
                if (!comparable(requestable).equals(comparable(csr.subjectAltNames()))) {
                    return Optional.of("a re-enrolment must request the subjectAltName of the certificate being renewed ("
                            + names(requestable) + "), not " + names(csr.subjectAltNames())
                            + " (RFC 7030 4.2.2)");
                }
                return Optional.empty();
            }));

    /** RFC 7030 4.2.2 allows renewal and rekey; the profile decides whether a new key is accepted. */
    static final Rule REENROL_REKEY = new Rule("reenrol.rekey", Rule.Kind.CALLER, (csr, ctx, profile) ->
            ctx.current().filter(current -> !profile.reenrolment().allowRekey()
                            && !Arrays.equals(current.subjectPublicKeyInfo(), csr.subjectPublicKeyInfo()))
                    .map(current -> "profile " + profile.name() + " renews certificates only for the same key; "
                            + "the CSR carries a new one"));

    /**
     * The renewal window: a certificate may be renewed only in the last part of its life, so a
     * stolen credential cannot extend itself indefinitely; an expired one cannot be renewed at all.
     */
    static final Rule REENROL_WINDOW = new Rule("reenrol.window", Rule.Kind.CALLER, (csr, ctx, profile) ->
            ctx.current().flatMap(current -> {
                if (!ctx.now().isBefore(current.notAfter())) {
                    return Optional.of("the certificate being renewed expired at " + current.notAfter()
                            + "; enrol again with the bootstrap credential");
                }
                Duration window = profile.reenrolment().renewalWindow();
                Instant opens = current.notAfter().minus(window);
                return !window.isZero() && ctx.now().isBefore(opens)
                        ? Optional.of("renewal opens at " + opens + " (" + window.toDays() + " days before the certificate "
                                + "expires at " + current.notAfter() + ")")
                        : Optional.empty();
            }));

    /**
     * TS-0003 10.1: the identity lives in subjectAltName, and the subject is CN=certSubjectID.
     * The CSR may leave the subject empty (RFC 5280 4.1.2.6 allows it when subjectAltName
     * carries the identity); it may not ask for any other subject. Compared as distinguished
     * names (RFC 4517 caseIgnoreMatch for CN), not as strings. (In EMPTY mode the requested
     * subject is ignored: the certificate's is empty.)
     */
    static final Rule SUBJECT_IDENTITY = new Rule("subject.identity", Rule.Kind.PROFILE, (csr, ctx, profile) -> {
        if (profile.subject().mode() != Profile.Subject.Mode.IDENTITY) {
            return Optional.empty();
        }
        X500Name expected = subjectOf(ctx.enrolee());
        return csr.subject().isEmpty() || expected.equals(parseSubject(csr.subject()))
                ? Optional.empty()
                : Optional.of("subject must be empty or " + expected + " (the registered "
                        + typeName(ctx.enrolee().type()) + "); the CSR has " + csr.subject());
    });

    /** Profiles in RDNS mode copy the requested subject, so each attribute must be allowed and match. */
    static final Rule SUBJECT_RDNS = new Rule("subject.rdns", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            profile.subject().mode() == Profile.Subject.Mode.RDNS ? rdnViolation(csr, ctx, profile) : Optional.empty());

    /**
     * TS-0003 10.1: the AE-ID is a URI, the CSE-ID a DNS name, the Node-ID a URI in
     * subjectAltName; TS-0003 8.3.6 step 8 validates it against the registered certSubjectID.
     * DNS names compare case-insensitively (RFC 4343), URIs exactly.
     */
    static final Rule SAN_REGISTERED_IDENTITY = new Rule("san.registered-identity", Rule.Kind.PROFILE, (csr, ctx, profile) -> {
        if (!profile.subjectAltName().bindToRegisteredIdentity()) {
            return Optional.empty();
        }
        SubjectAltName expected = ctx.enrolee().identity();
        return csr.subjectAltNames().stream().anyMatch(san -> sameIdentity(expected, san))
                ? Optional.empty()
                : Optional.of("subjectAltName must include " + expected + " (the registered "
                        + typeName(ctx.enrolee().type()) + "); the CSR has " + names(csr.subjectAltNames()));
    });

    /** The profile bounds how many names one certificate may speak for. */
    static final Rule SAN_COUNT = new Rule("san.count", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            csr.subjectAltNames().size() <= profile.subjectAltName().maxCount()
                    ? Optional.empty()
                    : Optional.of("profile " + profile.name() + " allows at most " + profile.subjectAltName().maxCount()
                            + " subjectAltName entries; the CSR has " + csr.subjectAltNames().size()));

    /** Names besides the registered identity must be of a kind the profile allows. */
    static final Rule SAN_TYPE = new Rule("san.type", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            otherNames(csr, ctx, profile).filter(san -> !profile.subjectAltName().types().contains(san.kind())).findFirst()
                    .map(san -> "subjectAltName " + san + " is not allowed by profile " + profile.name()
                            + (profile.subjectAltName().types().isEmpty()
                                    ? "; it allows only the registered identity " + ctx.enrolee().identity()
                                    : "; allowed kinds besides the registered identity: "
                                            + profile.subjectAltName().types().stream().sorted().toList())));

    /** Names besides the registered identity must match the profile's pattern for their kind. */
    static final Rule SAN_PATTERN = new Rule("san.pattern", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            otherNames(csr, ctx, profile).flatMap(san -> {
                String pattern = profile.subjectAltName().patterns().get(san.kind());
                return pattern == null || Profile.instantiate(pattern, ctx.enrolee()).matcher(san.value()).matches()
                        ? Stream.empty()
                        : Stream.of("subjectAltName " + san + " does not match the pattern " + pattern
                                + " of profile " + profile.name());
            }).findFirst());

    /**
     * TS-0003 8.3.6, steps 7 and 9: the Enrolee requests EKUs, and the CA adds those of the
     * Enrolee's SUIDs; RFC 5280 4.2.1.12: "If the extension is present, then the certificate
     * MUST only be used for one of the purposes indicated." So a requested EKU outside the
     * Enrolee's SUIDs (and the profile's allowed EKUs) would be a usage the operator never granted.
     */
    static final Rule EKU_SUIDS = new Rule("eku.suids", Rule.Kind.PROFILE, (csr, ctx, profile) -> {
        List<String> granted = profile.eku().forSuids(ctx.enrolee().suids());
        return csr.requestedEkus().stream()
                .filter(eku -> !granted.contains(eku) && !profile.eku().allowed().contains(eku)).findFirst()
                .map(eku -> "extendedKeyUsage " + eku + " is not granted to this Enrolee; its SUIDs "
                        + ctx.enrolee().suids().stream().sorted().toList() + " grant " + granted
                        + (profile.eku().allowed().isEmpty() ? "" : " and profile " + profile.name() + " allows "
                                + profile.eku().allowed().stream().sorted().toList()));
    });

    /**
     * RFC 5280 4.2.1.9: "The cA boolean indicates whether the certified public key may be used
     * to verify certificate signatures." An Enrolee certificate is an end-entity certificate, and
     * RFC 5280 4.2.1.3 keeps keyCertSign and cRLSign for CA keys. No profile field can change
     * this rule: a profile cannot make the gateway issue a CA certificate.
     */
    static final Rule EXTENSIONS_NO_CA = new Rule("extensions.no-ca", Rule.Kind.PROFILE, (csr, ctx, profile) -> {
        if (csr.requestsCa()) {
            return Optional.of("the CSR requests basicConstraints cA=TRUE; an Enrolee certificate is never a CA");
        }
        return csr.requestedExtension(Oids.KEY_USAGE).filter(PolicyEngine::asksForCaUsage)
                .map(ku -> "the CSR requests keyUsage keyCertSign or cRLSign; an Enrolee certificate is never a CA");
    });

    /**
     * RFC 5280 4.2: "A certificate-using system MUST reject the certificate if it encounters a
     * critical extension it does not recognize". An Enrolee that insists on an extension the MEF
     * does not understand (nor copies) is told so rather than silently getting a certificate
     * without it.
     */
    static final Rule EXTENSIONS_UNKNOWN_CRITICAL = new Rule("extensions.unknown-critical", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            csr.criticalExtensionOids().stream()
                    .filter(oid -> !UNDERSTOOD_CRITICAL.contains(oid) && !profile.extensions().copy().contains(oid))
                    .sorted().findFirst()
                    .map(oid -> "the CSR marks extension " + oid + " critical; only subjectAltName, extendedKeyUsage, "
                            + "keyUsage, basicConstraints and the extensions profile " + profile.name()
                            + " copies may be critical"));

    /** Extensions a profile neither answers nor copies are refused (unless the profile ignores them). */
    static final Rule EXTENSIONS_UNLISTED = new Rule("extensions.unlisted", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            !profile.extensions().refuseUnlisted()
                    ? Optional.empty()
                    : csr.requestedExtensionOids().stream()
                            .filter(oid -> !ANSWERED_FROM_POLICY.contains(oid) && !profile.extensions().copy().contains(oid))
                            .sorted().findFirst()
                            .map(oid -> "the CSR requests extension " + oid + ", which profile " + profile.name()
                                    + " does not issue" + (profile.extensions().copy().isEmpty() ? ""
                                            : "; it copies only " + profile.extensions().copy().stream().sorted().toList())));

    /**
     * RFC 5280 6.1.3 (a)(2): a path is valid only while every certificate in it is; a certificate
     * outliving its CA would be unusable, so validity is capped at the CA's notAfter, and a CA
     * that has expired issues nothing.
     */
    static final Rule VALIDITY_CA_EXPIRY = new Rule("validity.ca-expiry", Rule.Kind.PROFILE, (csr, ctx, profile) ->
            ctx.caNotAfter().isAfter(ctx.now())
                    ? Optional.empty()
                    : Optional.of("the CA certificate expired at " + ctx.caNotAfter() + "; nothing can be issued"));

    /** A per-Enrolee ceiling bounds what a compromised or looping device can obtain (the gateway answers: try later). */
    static final Rule RATE_PER_ENROLEE = new Rule("rate.per-enrolee", Rule.Kind.CALLER, (csr, ctx, profile) ->
            profile.maxIssuancesPerDay() == 0 || ctx.issuedLastDay() < profile.maxIssuancesPerDay()
                    ? Optional.empty()
                    : Optional.of("Enrolee " + ctx.enrolee().id() + " already got " + ctx.issuedLastDay()
                            + " certificates in the last 24 hours; profile " + profile.name() + " allows "
                            + profile.maxIssuancesPerDay()));

    /**
     * Fixed evaluation order; the first refusal wins. Authorisation ({@link Rule.Kind#CHALLENGE},
     * {@link Rule.Kind#CALLER}) and profile rules are interleaved as they always were, so that a
     * request is refused by the same rule as before the split.
     */
    static final List<Rule> RULES = List.of(
            CSR_SIGNATURE,
            CSR_SIGNATURE_ALGORITHM,
            KEY_TYPE,
            ENROLEE_TYPE,
            CHALLENGE_CHANNEL_BINDING,
            CHALLENGE_PRESENT,
            CHALLENGE_KNOWN,
            CHALLENGE_ENROLEE,
            CHALLENGE_UNUSED,
            CHALLENGE_UNEXPIRED,
            REENROL_SAME_NAMES,
            REENROL_REKEY,
            REENROL_WINDOW,
            SUBJECT_IDENTITY,
            SUBJECT_RDNS,
            SAN_REGISTERED_IDENTITY,
            SAN_COUNT,
            SAN_TYPE,
            SAN_PATTERN,
            EKU_SUIDS,
            EXTENSIONS_NO_CA,
            EXTENSIONS_UNKNOWN_CRITICAL,
            EXTENSIONS_UNLISTED,
            VALIDITY_CA_EXPIRY,
            RATE_PER_ENROLEE);

    private final Profile profile;

    public PolicyEngine(Profile profile) {
        this.profile = Objects.requireNonNull(profile, "profile");
    }

    public Profile profile() {
        return profile;
    }

    /** A request as it arrives: every rule, authorisation and profile, in the order of {@link #RULES}. */
    public Decision decide(CsrFacts csr, EnrolmentContext ctx) {
        return decide(csr, ctx, true);
    }

    /**
     * A request looked at again after its arrival (an operator approves a held request) or without
     * one ({@code mefgate policy check}): the profile rules and the caller rules, in the same order,
     * without the {@link Rule.Kind#CHALLENGE} rules, whose credentials were checked and spent on
     * arrival or were never presented. {@code ctx.challenge()} and {@code ctx.channelBinding()}
     * are not read.
     */
    public Decision review(CsrFacts csr, EnrolmentContext ctx) {
        return decide(csr, ctx, false);
    }

    private Decision decide(CsrFacts csr, EnrolmentContext ctx, boolean withChallenge) {
        for (Rule rule : RULES) {
            if (rule.kind() == Rule.Kind.CHALLENGE && !withChallenge) {
                continue;
            }
            Optional<Decision.Deny> deny = rule.check(csr, ctx, profile);
            if (deny.isPresent()) {
                return deny.get();
            }
        }
        return new Decision.Issue(profile.name(), template(csr, ctx));
    }

    /**
     * The certificate the Enrolee gets. The registered identity comes from the registration, not
     * from the CSR (which has been checked to agree with it); the EKUs are those of all the
     * Enrolee's SUIDs when the profile adds them (TS-0003 8.3.6 step 9a), plus the requested
     * ones it allows; the MEF's own extra names follow (step 9b).
     */
    private CertificateTemplate template(CsrFacts csr, EnrolmentContext ctx) {
        RegisteredEnrolee enrolee = ctx.enrolee();
        Instant notAfter = ctx.now().plus(profile.validity());
        if (notAfter.isAfter(ctx.caNotAfter())) {
            notAfter = ctx.caNotAfter();
        }
        Set<SubjectAltName> sans = new LinkedHashSet<>();
        if (profile.subjectAltName().bindToRegisteredIdentity()) {
            sans.add(enrolee.identity());
        }
        otherNames(csr, ctx, profile).forEach(sans::add);
        sans.addAll(addedNames(profile, enrolee));
        Set<String> ekus = new LinkedHashSet<>();
        if (profile.eku().addSuidEkus()) {
            ekus.addAll(profile.eku().forSuids(enrolee.suids()));
        }
        ekus.addAll(csr.requestedEkus());
        return new CertificateTemplate(
                certificateSubject(csr, enrolee),
                List.copyOf(sans),
                List.copyOf(ekus),
                true,
                ctx.now().minus(profile.backdate()),
                notAfter,
                csr.subjectPublicKeyInfo(),
                csr.requestedExtensions().stream().filter(e -> profile.extensions().copy().contains(e.oid())).toList(),
                profile.extensions().crlDistributionPoints(),
                profile.extensions().ocspUrls(),
                profile.extensions().caIssuersUrls());
    }

    /** RFC 5280 Appendix A ub-common-name: a CN holds at most 64 characters. */
    static final int MAX_COMMON_NAME = 64;

    /**
     * IDENTITY: CN=certSubjectID when it fits a CN, otherwise empty (the identity is in the
     * subjectAltName either way, TS-0003 10.1, which RFC 5280 4.2.1.6 then makes critical).
     * RDNS: the requested subject, which the rules have checked. EMPTY: empty.
     */
    private String certificateSubject(CsrFacts csr, RegisteredEnrolee enrolee) {
        return switch (profile.subject().mode()) {
            case IDENTITY -> enrolee.certSubjectId().length() <= MAX_COMMON_NAME ? subjectOf(enrolee).toString() : "";
            case RDNS -> csr.subject();
            case EMPTY -> "";
        };
    }

    /** The names the MEF adds (TS-0003 step 9b), placeholders filled in with the Enrolee's values. */
    private static List<SubjectAltName> addedNames(Profile profile, RegisteredEnrolee enrolee) {
        return profile.subjectAltName().add().stream()
                .map(extra -> new SubjectAltName(extra.kind(), Profile.fill(extra.value(), enrolee, value -> value)))
                .toList();
    }

    /** Requested names other than the registered identity (when the profile binds to it). */
    private static Stream<SubjectAltName> otherNames(CsrFacts csr, EnrolmentContext ctx, Profile profile) {
        if (!profile.subjectAltName().bindToRegisteredIdentity()) {
            return csr.subjectAltNames().stream();
        }
        SubjectAltName identity = ctx.enrolee().identity();
        return csr.subjectAltNames().stream().filter(san -> !sameIdentity(identity, san));
    }

    /** RDNS mode: each attribute of the CSR's subject is one the profile lists and matches its pattern. */
    private static Optional<String> rdnViolation(CsrFacts csr, EnrolmentContext ctx, Profile profile) {
        X500Name subject = parseSubject(csr.subject());
        if (subject == null) {
            return Optional.of("the CSR subject " + csr.subject() + " is not a distinguished name");
        }
        Map<String, Profile.Rdn> rules = profile.subject().rdns();
        Set<String> seen = new LinkedHashSet<>();
        for (RDN rdn : subject.getRDNs()) {
            for (AttributeTypeAndValue atv : rdn.getTypesAndValues()) {
                String name = BCStyle.INSTANCE.oidToDisplayName(atv.getType());
                String key = name == null ? atv.getType().getId() : name;
                Profile.Rdn rule = rules.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(key))
                        .map(Map.Entry::getValue).findFirst().orElse(null);
                if (rule == null) {
                    return Optional.of("subject attribute " + key + " is not allowed by profile " + profile.name()
                            + "; allowed: " + rules.keySet());
                }
                String value = atv.getValue() instanceof ASN1String text ? text.getString()
                        : IETFUtils.valueToString(atv.getValue());
                if (!Profile.instantiate(rule.pattern(), ctx.enrolee()).matcher(value).matches()) {
                    return Optional.of("subject " + key + "=" + value + " does not match the pattern " + rule.pattern()
                            + " of profile " + profile.name());
                }
                seen.add(key.toUpperCase(Locale.ROOT));
            }
        }
        return rules.entrySet().stream()
                .filter(e -> e.getValue().required() && !seen.contains(e.getKey().toUpperCase(Locale.ROOT)))
                .map(e -> "subject attribute " + e.getKey() + " is required by profile " + profile.name())
                .findFirst();
    }

    /** Names as RFC 5280 7.2 compares them: DNS names case-insensitively (RFC 4343), the rest exactly. */
    private static Set<SubjectAltName> comparable(List<SubjectAltName> sans) {
        return sans.stream().map(san -> san.kind() == SubjectAltName.Kind.DNS
                ? new SubjectAltName(san.kind(), san.value().toLowerCase(Locale.ROOT)) : san).collect(Collectors.toSet());
    }

    private static boolean asksForCaUsage(CsrFacts.RequestedExtension keyUsage) {
        try {
            KeyUsage usage = KeyUsage.getInstance(keyUsage.value());
            return usage.hasUsages(KeyUsage.keyCertSign) || usage.hasUsages(KeyUsage.cRLSign);
        } catch (RuntimeException e) {
            // The parser decoded nothing else from it; an undecodable keyUsage asks for nothing we could grant.
            return true;
        }
    }

    private static String describe(Profile.Keys keys) {
        List<String> accepted = new ArrayList<>();
        if (!keys.ecCurves().isEmpty()) {
            accepted.add("EC on " + keys.ecCurves().stream().sorted().collect(Collectors.joining("/")));
        }
        if (keys.rsaMinBits() > 0) {
            accepted.add("RSA of at least " + keys.rsaMinBits() + " bits");
        }
        if (keys.ed25519()) {
            accepted.add("Ed25519");
        }
        return String.join(" or ", accepted);
    }

    private static String names(List<SubjectAltName> sans) {
        return sans.isEmpty() ? "none" : sans.stream().map(SubjectAltName::toString).collect(Collectors.joining(", "));
    }

    /** CN=certSubjectID; the builder escapes RFC 4514 special characters. */
    private static X500Name subjectOf(RegisteredEnrolee enrolee) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, enrolee.certSubjectId()).build();
    }

    /** Null when the text is not a distinguished name, which never equals the expected one. */
    private static X500Name parseSubject(String subject) {
        try {
            return new X500Name(BCStyle.INSTANCE, subject);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean sameIdentity(SubjectAltName expected, SubjectAltName actual) {
        if (expected.kind() != actual.kind()) {
            return false;
        }
        return expected.kind() == SubjectAltName.Kind.DNS
                ? expected.value().toLowerCase(Locale.ROOT).equals(actual.value().toLowerCase(Locale.ROOT))
                : expected.value().equals(actual.value());
    }

    private static String typeName(CertSubjectType type) {
        return switch (type) {
            case AE_ID -> "AE-ID";
            case CSE_ID -> "CSE-ID";
            case NODE_ID -> "Node-ID";
        };
    }

    private static String algorithmName(String oid) {
        String name = ALGORITHM_NAMES.getAlgorithmName(new ASN1ObjectIdentifier(oid));
        return name.equals(oid) ? oid : name + " (" + oid + ")";
    }
}
