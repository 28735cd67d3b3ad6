package org.mefgateway.policy;

import java.io.StringReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads a profile from the text of its YAML file. The file name without {@code .yaml} is the
 * profile's name and its EST label ({@code default} serves requests without a label). Every
 * field is optional and defaults to {@link Profile#oneM2MDefault}; every error names the file,
 * the line and the field. The field reference is in {@code policy-engine/README.md}.
 *
 * <p>Pure: the caller reads the file; this class only parses text.
 */
public final class ProfileFile {

    /** The profile served on requests without a label. */
    public static final String DEFAULT = "default";

    /** RFC 7030 3.2.2: a label is one path segment; these would be taken for operations. */
    private static final Set<String> OPERATIONS =
            Set.of("cacerts", "csrattrs", "simpleenroll", "simplereenroll", "serverkeygen", "fullcmc");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private static final Map<String, String> CURVES = Map.of(
            "p-256", "secp256r1", "secp256r1", "secp256r1", "prime256v1", "secp256r1",
            "p-384", "secp384r1", "secp384r1", "secp384r1",
            "p-521", "secp521r1", "secp521r1", "secp521r1");
    private static final Map<String, String> SIGNATURE_ALGORITHMS = Map.of(
            "ecdsa-with-sha256", Oids.ECDSA_WITH_SHA256,
            "ecdsa-with-sha384", Oids.ECDSA_WITH_SHA384,
            "sha256withrsaencryption", Oids.SHA256_WITH_RSA,
            "rsassa-pss", Oids.RSASSA_PSS,
            "ed25519", Oids.ED25519);
    private static final Map<String, String> EKU_NAMES = Map.of(
            "serverauth", "1.3.6.1.5.5.7.3.1",
            "clientauth", "1.3.6.1.5.5.7.3.2",
            "codesigning", "1.3.6.1.5.5.7.3.3",
            "emailprotection", "1.3.6.1.5.5.7.3.4");

    private ProfileFile() {
    }

    /** The profile name a file stands for, or empty when the file is not a profile file. */
    public static Optional<String> profileName(String fileName) {
        return fileName.endsWith(".yaml") ? Optional.of(fileName.substring(0, fileName.length() - 5))
                : Optional.empty();
    }

    /** Parses {@code text}, the content of the file {@code fileName} (e.g. {@code ae.yaml}). */
    public static Profile parse(String fileName, String text) throws ProfileException {
        String name = profileName(fileName).orElseThrow(() -> new ProfileException(fileName + ": a profile file ends in .yaml"));
        if (!LABEL.matcher(name).matches() || OPERATIONS.contains(name)) {
            throw new ProfileException(fileName + ": '" + name + "' cannot be an EST label (RFC 7030 3.2.2): use 1-64 "
                    + "letters, digits, '.', '_' or '-', not an operation name such as simpleenroll");
        }
        Node root;
        try {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            options.setMaxAliasesForCollections(10);
            root = new Yaml(new SafeConstructor(options)).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            throw new ProfileException(fileName + ":" + (e.getProblemMark().getLine() + 1) + ": not valid YAML: " + e.getProblem());
        } catch (YAMLException e) {
            throw new ProfileException(fileName + ": not valid YAML: " + e.getMessage());
        }
        if (root == null || root.getTag().equals(Tag.NULL)) {
            // no document, or an empty one ("---" alone, "~"): nothing is set
            return Profile.oneM2MDefault(name);
        }
        return read(name, new YamlFields(fileName, "", root));
    }

    private static Profile read(String name, YamlFields f) throws ProfileException {
        f.allowOnly(Set.of("description", "certSubjectTypes", "keys", "signatureAlgorithms", "subject", "subjectAltName", "eku", "extensions",
                "validity", "challenge", "reenrolment", "rateLimit", "approval", "redelivery", "caKey"));
        Profile d = Profile.oneM2MDefault(name);

        Set<CertSubjectType> identities = d.certSubjectTypes();
        var listed = f.list("certSubjectTypes");
        if (listed.isPresent()) {
            identities = EnumSet.noneOf(CertSubjectType.class);
            for (String type : listed.get()) {
                try {
                    identities.add(CertSubjectType.parse(type));
                } catch (IllegalArgumentException e) {
                    throw f.error("certSubjectTypes", e.getMessage());
                }
            }
        }

        Profile.Keys keys = d.keys();
        var k = f.map("keys");
        if (k.isPresent()) {
            YamlFields m = k.get();
            m.allowOnly(Set.of("ec", "ecUncompressedOnly", "rsaMinBits", "ed25519"));
            Set<String> curves = new HashSet<>();
            for (String curve : m.list("ec").orElse(List.of("P-256"))) {
                String known = CURVES.get(curve.toLowerCase(Locale.ROOT));
                if (known == null) {
                    throw m.error("ec", "unknown curve '" + curve + "'; use P-256, P-384 or P-521");
                }
                curves.add(known);
            }
            int rsaMinBits = (int) m.number("rsaMinBits", 0, 0, 16384);
            keys = build(m, () -> new Profile.Keys(curves, m.bool("ecUncompressedOnly", true), rsaMinBits,
                    m.bool("ed25519", false)));
        }

        Set<String> signatureAlgorithms = d.signatureAlgorithmOids();
        var sig = f.list("signatureAlgorithms");
        if (sig.isPresent()) {
            signatureAlgorithms = new HashSet<>();
            for (String alg : sig.get()) {
                signatureAlgorithms.add(oid(f, "signatureAlgorithms", alg, SIGNATURE_ALGORITHMS,
                        "ecdsa-with-SHA256, ecdsa-with-SHA384, sha256WithRSAEncryption, RSASSA-PSS, Ed25519"));
            }
        }

        Profile.Subject subject = d.subject();
        var s = f.map("subject");
        if (s.isPresent()) {
            YamlFields m = s.get();
            m.allowOnly(Set.of("mode", "rdns"));
            Profile.Subject.Mode mode = enumValue(m, "mode", Profile.Subject.Mode.class, Profile.Subject.Mode.IDENTITY);
            Map<String, Profile.Rdn> rdns = new TreeMap<>();
            var r = m.map("rdns");
            if (r.isPresent()) {
                for (String attribute : r.get().keys()) {
                    YamlFields rule = r.get().map(attribute).orElseThrow();
                    rule.allowOnly(Set.of("required", "pattern"));
                    String pattern = rule.text("pattern").orElse(".*");
                    boolean required = rule.bool("required", false);
                    rdns.put(attribute, build(rule, () -> new Profile.Rdn(required, pattern)));
                }
            }
            subject = build(m, () -> new Profile.Subject(mode, rdns));
        }

        Profile.SubjectAltNames sans = d.subjectAltName();
        var san = f.map("subjectAltName");
        if (san.isPresent()) {
            YamlFields m = san.get();
            m.allowOnly(Set.of("bindToRegisteredIdentity", "types", "patterns", "maxCount", "add"));
            Set<SubjectAltName.Kind> types = EnumSet.noneOf(SubjectAltName.Kind.class);
            for (String t : m.list("types").orElse(List.of())) {
                types.add(kind(m, "types", t));
            }
            Map<SubjectAltName.Kind, String> patterns = new EnumMap<>(SubjectAltName.Kind.class);
            for (Map.Entry<String, String> p : m.textMap("patterns").orElse(Map.of()).entrySet()) {
                patterns.put(kind(m, "patterns", p.getKey()), p.getValue());
            }
            List<SubjectAltName> add = new ArrayList<>();
            for (String extra : m.list("add").orElse(List.of())) {
                int colon = extra.indexOf(':');
                if (colon < 1) {
                    throw m.error("add", "'" + extra + "' must be KIND:value, e.g. URI:urn:example:{enroleeId}");
                }
                add.add(new SubjectAltName(kind(m, "add", extra.substring(0, colon)), extra.substring(colon + 1)));
            }
            boolean bind = m.bool("bindToRegisteredIdentity", true);
            int maxCount = (int) m.number("maxCount", 1, 1, 100);
            sans = build(m, () -> new Profile.SubjectAltNames(types, patterns, bind, maxCount, add));
        }

        Profile.Ekus ekus = d.eku();
        var e = f.map("eku");
        if (e.isPresent()) {
            YamlFields m = e.get();
            m.allowOnly(Set.of("addSuidEkus", "allowed", "suidEkus"));
            Set<String> allowed = new HashSet<>();
            for (String eku : m.list("allowed").orElse(List.of())) {
                allowed.add(oid(m, "allowed", eku, EKU_NAMES, "serverAuth, clientAuth, codeSigning, emailProtection"));
            }
            Map<Integer, String> suidEkus = Profile.defaultSuidEkus();
            var mapped = m.textMap("suidEkus");
            if (mapped.isPresent()) {
                suidEkus = new LinkedHashMap<>();
                for (Map.Entry<String, String> entry : mapped.get().entrySet()) {
                    int suid;
                    try {
                        suid = Integer.parseInt(entry.getKey());
                    } catch (NumberFormatException ex) {
                        throw m.error("suidEkus", "keys are SUID numbers 40..45, not '" + entry.getKey() + "'");
                    }
                    suidEkus.put(suid, entry.getValue());
                }
            }
            Map<Integer, String> finalSuidEkus = suidEkus;
            boolean add = m.bool("addSuidEkus", true);
            ekus = build(m, () -> new Profile.Ekus(finalSuidEkus, allowed, add));
        }

        Profile.Extensions extensions = d.extensions();
        var x = f.map("extensions");
        if (x.isPresent()) {
            YamlFields m = x.get();
            m.allowOnly(Set.of("copy", "refuseUnlisted", "crlDistributionPoints", "ocsp", "caIssuers"));
            Set<String> copy = Set.copyOf(m.list("copy").orElse(List.of()));
            boolean refuse = m.bool("refuseUnlisted", true);
            List<String> crl = m.list("crlDistributionPoints").orElse(List.of());
            List<String> ocsp = m.list("ocsp").orElse(List.of());
            List<String> issuers = m.list("caIssuers").orElse(List.of());
            extensions = build(m, () -> new Profile.Extensions(copy, refuse, crl, ocsp, issuers));
        }

        Duration validity = d.validity();
        Duration backdate = d.backdate();
        var v = f.map("validity");
        if (v.isPresent()) {
            YamlFields m = v.get();
            m.allowOnly(Set.of("days", "backdateSeconds"));
            validity = Duration.ofDays(m.number("days", d.validity().toDays(), 1, 36500));
            backdate = Duration.ofSeconds(m.number("backdateSeconds", d.backdate().toSeconds(), 0, 86400));
        }

        Profile.Challenge challenge = d.challenge();
        var c = f.map("challenge");
        if (c.isPresent()) {
            YamlFields m = c.get();
            m.allowOnly(Set.of("required", "lifetimeSeconds", "singleUse", "channelBinding"));
            if (!m.bool("singleUse", true)) {
                throw m.error("singleUse", "must be true: a reusable challenge lets a captured CSR be replayed for "
                        + "another certificate (TS-0003 8.3.6 step 8)");
            }
            challenge = new Profile.Challenge(m.bool("required", true),
                    Duration.ofSeconds(m.number("lifetimeSeconds", d.challenge().lifetime().toSeconds(), 1, 30L * 86400)),
                    m.bool("channelBinding", false));
        }

        Profile.Reenrolment reenrolment = d.reenrolment();
        var re = f.map("reenrolment");
        if (re.isPresent()) {
            YamlFields m = re.get();
            m.allowOnly(Set.of("allowRekey", "renewalWindowDays", "challenge"));
            reenrolment = new Profile.Reenrolment(m.bool("allowRekey", true),
                    Duration.ofDays(m.number("renewalWindowDays", d.reenrolment().renewalWindow().toDays(), 0, 36500)),
                    enumValue(m, "challenge", Profile.ReenrolmentChallenge.class, d.reenrolment().challenge()));
        }

        int maxPerDay = d.maxIssuancesPerDay();
        var rate = f.map("rateLimit");
        if (rate.isPresent()) {
            rate.get().allowOnly(Set.of("maxIssuancesPerDay"));
            maxPerDay = (int) rate.get().number("maxIssuancesPerDay", d.maxIssuancesPerDay(), 0, 1_000_000);
        }

        Profile.Approval approval = d.approval();
        var a = f.map("approval");
        if (a.isPresent()) {
            YamlFields m = a.get();
            m.allowOnly(Set.of("required", "retryAfterSeconds", "maxPendingPerEnrolee"));
            approval = new Profile.Approval(m.bool("required", false),
                    Duration.ofSeconds(m.number("retryAfterSeconds", d.approval().retryAfter().toSeconds(), 1, 86400)),
                    (int) m.number("maxPendingPerEnrolee", d.approval().maxPendingPerEnrolee(), 1, 100));
        }

        // Unset: a repeat is recognised for as long as the challenge it carried would have lived.
        Duration redelivery = challenge.lifetime();
        var rd = f.map("redelivery");
        if (rd.isPresent()) {
            rd.get().allowOnly(Set.of("windowSeconds"));
            redelivery = Duration.ofSeconds(rd.get().number("windowSeconds", challenge.lifetime().toSeconds(), 0, 30L * 86400));
        }

        Set<CertSubjectType> ft = identities;
        Profile.Keys fk = keys;
        Set<String> fs = signatureAlgorithms;
        Profile.Subject fsub = subject;
        Profile.SubjectAltNames fsan = sans;
        Profile.Ekus fe = ekus;
        Profile.Extensions fx = extensions;
        Duration fv = validity;
        Duration fb = backdate;
        Profile.Challenge fc = challenge;
        Profile.Reenrolment fr = reenrolment;
        int fm = maxPerDay;
        Profile.Approval fa = approval;
        Duration frd = redelivery;
        String caKey = f.text("caKey").orElse(Profile.DEFAULT_CA_KEY);
        return build(f, () -> new Profile(name, ft, fk, fs, fsub, fsan, fe, fx, fv, fb, fc, fr, fm, fa, frd, caKey));
    }

    private interface Builder<T> {
        T build() throws ProfileException;
    }

    /** Runs a record's validating constructor and reports its refusal at the section's line. */
    private static <T> T build(YamlFields at, Builder<T> builder) throws ProfileException {
        try {
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw at.error(e.getMessage());
        }
    }

    private static String oid(YamlFields m, String field, String text, Map<String, String> names, String known)
            throws ProfileException {
        String oid = names.get(text.toLowerCase(Locale.ROOT));
        if (oid != null) {
            return oid;
        }
        if (text.matches("[0-2](\\.(0|[1-9][0-9]*))+")) {
            return text;
        }
        throw m.error(field, "'" + text + "' is neither a dotted OID nor one of " + known);
    }

    private static SubjectAltName.Kind kind(YamlFields m, String field, String text) throws ProfileException {
        try {
            SubjectAltName.Kind kind = SubjectAltName.Kind.valueOf(text.toUpperCase(Locale.ROOT));
            if (kind != SubjectAltName.Kind.OTHER) {
                return kind;
            }
        } catch (IllegalArgumentException e) {
            // fall through to the error below
        }
        throw m.error(field, "'" + text + "' is not DNS, URI, EMAIL or IP");
    }

    private static <E extends Enum<E>> E enumValue(YamlFields m, String field, Class<E> type, E fallback)
            throws ProfileException {
        var text = m.text(field);
        if (text.isEmpty()) {
            return fallback;
        }
        try {
            return Enum.valueOf(type, text.get().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw m.error(field, "'" + text.get() + "' is not one of "
                    + EnumSet.allOf(type).stream().map(x -> x.name().toLowerCase(Locale.ROOT)).toList());
        }
    }
}
