package org.mefgateway.policy;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
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

    /** The extensions whose meaning the MEF knows; any other one marked critical is refused. */
    private static final Set<String> UNDERSTOOD_CRITICAL =
            Set.of(Oids.SUBJECT_ALT_NAME, Oids.EXTENDED_KEY_USAGE, Oids.KEY_USAGE, Oids.BASIC_CONSTRAINTS);

    private static final DefaultAlgorithmNameFinder ALGORITHM_NAMES = new DefaultAlgorithmNameFinder();

    /**
     * RFC 2986 3, note 2: "The signature on the certification request prevents an entity from
     * requesting a certificate with another party's public key." RFC 7030 3.4 relies on it as the
     * proof of possession. A signature that does not verify is a malformed request: 400.
     */
    static final Rule CSR_SIGNATURE = new Rule("csr.signature", 400, (csr, ctx, profile) -> csr.signatureValid()
            ? Optional.empty()
            : Optional.of("the CSR signature does not verify with the CSR's own public key (no proof of possession)"));

    /** TS-0003 10.1: oneM2M certificates are signed with ECDSA with SHA-256; the profile lists what it accepts. */
    static final Rule CSR_SIGNATURE_ALGORITHM = new Rule("csr.signature-algorithm", 403, (csr, ctx, profile) ->
            profile.signatureAlgorithmOids().contains(csr.signatureAlgorithmOid())
                    ? Optional.empty()
                    : Optional.of("signature algorithm " + algorithmName(csr.signatureAlgorithmOid())
                            + " is not allowed by profile " + profile.name() + "; allowed: "
                            + profile.signatureAlgorithmOids().stream().sorted().map(PolicyEngine::algorithmName)
                                    .collect(Collectors.joining(", "))));

    /**
     * TS-0003 10.1: the subject public key of a oneM2M certificate is an EC key on P-256
     * (secp256r1), in uncompressed form (SEC 1 2.3.3: the point starts with 0x04).
     */
    static final Rule KEY_EC_P256 = new Rule("key.ec-p256", 403, (csr, ctx, profile) -> {
        if (!"EC".equals(csr.keyAlgorithm()) || !csr.ecCurve().equals(Optional.of("secp256r1"))) {
            return Optional.of("the key must be EC on secp256r1 (P-256, TS-0003 10.1); the CSR has "
                    + csr.keyAlgorithm() + csr.ecCurve().map(c -> " " + c).orElse("")
                    + (csr.keySizeBits() > 0 ? " (" + csr.keySizeBits() + " bits)" : ""));
        }
        byte[] point = SubjectPublicKeyInfo.getInstance(csr.subjectPublicKeyInfo()).getPublicKeyData().getOctets();
        return point.length == 65 && point[0] == 0x04
                ? Optional.empty()
                : Optional.of("the P-256 public key must be an uncompressed point (TS-0003 10.1); the CSR has a compressed one");
    });

    /**
     * TS-0003 8.3.6, steps 5 and 7: the MEF hands out a challengePassword with the CSR
     * attributes and the Enrolee includes it in its CSR.
     */
    static final Rule CHALLENGE_PRESENT = new Rule("challenge.present", 403, (csr, ctx, profile) ->
            csr.challengePassword().isPresent()
                    ? Optional.empty()
                    : Optional.of("the CSR has no challengePassword attribute; request one from /csrattrs first"));

    /** TS-0003 8.3.6, step 8: the MEF validates the challenge, so it must be one this MEF issued. */
    static final Rule CHALLENGE_KNOWN = new Rule("challenge.known", 403, (csr, ctx, profile) ->
            ctx.challenge().isPresent()
                    ? Optional.empty()
                    : Optional.of("the challengePassword is not one this MEF issued; request a fresh one from /csrattrs"));

    /**
     * TS-0003 8.3.6, steps 4-5: the challenge is handed to the Enrolee the MEF instructed, so it
     * binds the CSR to that Enrolee. The reason does not name the other Enrolee.
     */
    static final Rule CHALLENGE_ENROLEE = new Rule("challenge.enrolee", 403, (csr, ctx, profile) ->
            ctx.challenge().filter(c -> !c.enroleeId().equals(ctx.enrolee().id()))
                    .map(c -> "the challengePassword was issued to another Enrolee, not to " + ctx.enrolee().id()));

    /** TS-0003 8.3.6, step 8: a challenge is single use, so a replayed CSR is refused. */
    static final Rule CHALLENGE_UNUSED = new Rule("challenge.unused", 403, (csr, ctx, profile) ->
            ctx.challenge().filter(IssuedChallenge::used)
                    .map(c -> "the challengePassword was already used; request a fresh one from /csrattrs"));

    /** TS-0003 8.3.6, step 8: a challenge expires (profile challengeLifetime), bounding the replay window. */
    static final Rule CHALLENGE_UNEXPIRED = new Rule("challenge.unexpired", 403, (csr, ctx, profile) ->
            ctx.challenge().filter(c -> !ctx.now().isBefore(c.expiresAt()))
                    .map(c -> "the challengePassword expired at " + c.expiresAt()
                            + "; request a fresh one from /csrattrs"));

    /**
     * TS-0003 10.1: the identity lives in subjectAltName, and the subject is CN=certSubjectID.
     * The CSR may leave the subject empty (RFC 5280 4.1.2.6 allows it when subjectAltName
     * carries the identity); it may not ask for any other subject. Compared as distinguished
     * names (RFC 4517 caseIgnoreMatch for CN), not as strings.
     */
    static final Rule SUBJECT_IDENTITY = new Rule("subject.identity", 403, (csr, ctx, profile) -> {
        X500Name expected = subjectOf(ctx.enrolee());
        if (csr.subject().isEmpty() || expected.equals(parseSubject(csr.subject()))) {
            return Optional.empty();
        }
        return Optional.of("subject must be empty or " + expected + " (the registered "
                + typeName(ctx.enrolee().type()) + "); the CSR has " + csr.subject());
    });

    /**
     * TS-0003 10.1: the AE-ID is a URI, the CSE-ID a DNS name, the Node-ID a URI in
     * subjectAltName; TS-0003 8.3.6 step 8 validates it against the registered certSubjectID.
     * DNS names compare case-insensitively (RFC 4343), URIs exactly.
     */
    static final Rule SAN_REGISTERED_IDENTITY = new Rule("san.registered-identity", 403, (csr, ctx, profile) -> {
        SubjectAltName expected = ctx.enrolee().identity();
        List<SubjectAltName> sans = csr.subjectAltNames();
        if (sans.size() == 1 && sameIdentity(expected, sans.get(0))) {
            return Optional.empty();
        }
        String has = sans.isEmpty() ? "none" : sans.stream().map(SubjectAltName::toString).collect(Collectors.joining(", "));
        return Optional.of("subjectAltName must be exactly " + expected + " (the registered "
                + typeName(ctx.enrolee().type()) + "); the CSR has " + has);
    });

    /**
     * TS-0003 8.3.6, steps 7 and 9: the Enrolee requests EKUs, and the CA adds those of the
     * Enrolee's SUIDs; RFC 5280 4.2.1.12: "If the extension is present, then the certificate
     * MUST only be used for one of the purposes indicated." So a requested EKU outside the
     * Enrolee's SUIDs would be a usage the operator never granted.
     */
    static final Rule EKU_SUIDS = new Rule("eku.suids", 403, (csr, ctx, profile) -> {
        List<String> allowed = profile.ekusFor(ctx.enrolee().suids());
        return csr.requestedEkus().stream().filter(eku -> !allowed.contains(eku)).findFirst()
                .map(eku -> "extendedKeyUsage " + eku + " is not granted to this Enrolee; its SUIDs "
                        + ctx.enrolee().suids().stream().sorted().toList() + " allow " + allowed);
    });

    /**
     * RFC 5280 4.2.1.9: "The cA boolean indicates whether the certified public key may be used
     * to verify certificate signatures." An Enrolee certificate is an end-entity certificate.
     */
    static final Rule EXTENSIONS_NO_CA = new Rule("extensions.no-ca", 403, (csr, ctx, profile) ->
            csr.requestsCa()
                    ? Optional.of("the CSR requests basicConstraints cA=TRUE; an Enrolee certificate is never a CA")
                    : Optional.empty());

    /**
     * RFC 5280 4.2: "A certificate-using system MUST reject the certificate if it encounters a
     * critical extension it does not recognize". The MEF does not copy requested extensions, and
     * an Enrolee that insists on an extension the MEF does not understand is told so rather than
     * silently getting a certificate without it.
     */
    static final Rule EXTENSIONS_UNKNOWN_CRITICAL = new Rule("extensions.unknown-critical", 403, (csr, ctx, profile) ->
            csr.criticalExtensionOids().stream().filter(oid -> !UNDERSTOOD_CRITICAL.contains(oid)).sorted().findFirst()
                    .map(oid -> "the CSR marks extension " + oid + " critical; only subjectAltName, extendedKeyUsage, "
                            + "keyUsage and basicConstraints may be critical"));

    /**
     * RFC 5280 6.1.3 (a)(2): a path is valid only while every certificate in it is; a certificate
     * outliving its CA would be unusable, so validity is capped at the CA's notAfter, and a CA
     * that has expired issues nothing.
     */
    static final Rule VALIDITY_CA_EXPIRY = new Rule("validity.ca-expiry", 403, (csr, ctx, profile) ->
            ctx.caNotAfter().isAfter(ctx.now())
                    ? Optional.empty()
                    : Optional.of("the CA certificate expired at " + ctx.caNotAfter() + "; nothing can be issued"));

    /** Fixed evaluation order; the first refusal wins. */
    static final List<Rule> RULES = List.of(
            CSR_SIGNATURE,
            CSR_SIGNATURE_ALGORITHM,
            KEY_EC_P256,
            CHALLENGE_PRESENT,
            CHALLENGE_KNOWN,
            CHALLENGE_ENROLEE,
            CHALLENGE_UNUSED,
            CHALLENGE_UNEXPIRED,
            SUBJECT_IDENTITY,
            SAN_REGISTERED_IDENTITY,
            EKU_SUIDS,
            EXTENSIONS_NO_CA,
            EXTENSIONS_UNKNOWN_CRITICAL,
            VALIDITY_CA_EXPIRY);

    private final Profile profile;

    public PolicyEngine(Profile profile) {
        this.profile = Objects.requireNonNull(profile, "profile");
    }

    public Profile profile() {
        return profile;
    }

    public Decision decide(CsrFacts csr, EnrolmentContext ctx) {
        for (Rule rule : RULES) {
            Optional<Decision.Deny> deny = rule.check(csr, ctx, profile);
            if (deny.isPresent()) {
                return deny.get();
            }
        }
        return new Decision.Issue(profile.name(), template(csr, ctx));
    }

    /**
     * The certificate the Enrolee gets. Identities come from the registration, never from the
     * CSR (which has been checked to agree with it); the EKUs are those of all the Enrolee's
     * SUIDs (TS-0003 8.3.6 step 9: the CA adds them; the requested ones are a subset).
     */
    private CertificateTemplate template(CsrFacts csr, EnrolmentContext ctx) {
        RegisteredEnrolee enrolee = ctx.enrolee();
        Instant notAfter = ctx.now().plus(profile.validity());
        if (notAfter.isAfter(ctx.caNotAfter())) {
            notAfter = ctx.caNotAfter();
        }
        return new CertificateTemplate(
                certificateSubject(enrolee).toString(),
                List.of(enrolee.identity()),
                profile.ekusFor(enrolee.suids()),
                true,
                ctx.now().minus(profile.backdate()),
                notAfter,
                csr.subjectPublicKeyInfo());
    }

    /** RFC 5280 Appendix A ub-common-name: a CN holds at most 64 characters. */
    static final int MAX_COMMON_NAME = 64;

    /**
     * CN=certSubjectID when it fits a CN; otherwise an empty subject (the identity is in the
     * subjectAltName either way, TS-0003 10.1, which RFC 5280 4.2.1.6 then makes critical).
     */
    private static X500Name certificateSubject(RegisteredEnrolee enrolee) {
        return enrolee.certSubjectId().length() <= MAX_COMMON_NAME ? subjectOf(enrolee) : new X500Name(new RDN[0]);
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
