package org.mefgateway.policy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A certificate profile: the operator's policy for one EST label. Every field is a plain value
 * so that a declarative file (YAML, in a later issue) maps onto this record one to one; the
 * compact constructor is the single place where a profile is validated, whatever its source.
 *
 * @param name                   profile name, reported in every {@link Decision}
 * @param signatureAlgorithmOids CSR signature algorithms accepted (TS-0003 10.1: ecdsa-with-SHA256)
 * @param validity               lifetime of an issued certificate, counted from the decision time
 *                               (capped at the CA certificate's notAfter)
 * @param backdate               how far notBefore is set before the decision time, so that
 *                               Enrolees whose clocks run slightly behind accept the certificate
 * @param suidEkus               EKU OID for each Security Usage Identifier (TS-0004
 *                               {@code m2m:suid}): 40 MEF, 41 MAF, 42 SAEF, 43 ESPrim,
 *                               44 ESData encryption, 45 ESData signature. The standards assign
 *                               none, so this is operator configuration; SUIDs without an entry
 *                               get no EKU
 * @param challengeLifetime      how long a challengePassword handed out by /csrattrs stays valid
 */
public record Profile(
        String name,
        Set<String> signatureAlgorithmOids,
        Duration validity,
        Duration backdate,
        Map<Integer, String> suidEkus,
        Duration challengeLifetime) {

    /** SUIDs for certificate credentials (TS-0004 m2m:suid). */
    private static final int FIRST_SUID = 40;
    private static final int LAST_SUID = 45;

    /** Dotted OID: first arc 0..2, then at least one more arc, no leading zeros. */
    private static final Pattern OID = Pattern.compile("[0-2](\\.(0|[1-9][0-9]*))+");

    public Profile {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("profile name must not be blank");
        }
        signatureAlgorithmOids = Set.copyOf(signatureAlgorithmOids);
        if (signatureAlgorithmOids.isEmpty()) {
            throw new IllegalArgumentException("profile " + name + ": at least one signature algorithm is required");
        }
        for (String oid : signatureAlgorithmOids) {
            requireOid(name, "signature algorithm", oid);
        }
        requirePositive(name, "validity", validity);
        requirePositive(name, "challenge lifetime", challengeLifetime);
        Objects.requireNonNull(backdate, "backdate");
        if (backdate.isNegative()) {
            throw new IllegalArgumentException("profile " + name + ": backdate must not be negative, not " + backdate);
        }
        suidEkus = Map.copyOf(suidEkus);
        for (Map.Entry<Integer, String> e : suidEkus.entrySet()) {
            if (e.getKey() < FIRST_SUID || e.getKey() > LAST_SUID) {
                throw new IllegalArgumentException("profile " + name + ": SUID " + e.getKey()
                        + " is not a certificate SUID (" + FIRST_SUID + ".." + LAST_SUID + ")");
            }
            requireOid(name, "EKU of SUID " + e.getKey(), e.getValue());
        }
    }

    /**
     * The oneM2M default: ECDSA with SHA-256 only, one year of validity, one minute of backdating,
     * SUIDs 40..45 mapped to {@link Oids#SUID_EKU_ARC}{@code .n}, challenges valid for 10 minutes.
     */
    public static Profile oneM2MDefault(String name) {
        Map<Integer, String> ekus = new TreeMap<>();
        for (int suid = FIRST_SUID; suid <= LAST_SUID; suid++) {
            ekus.put(suid, Oids.SUID_EKU_ARC + "." + suid);
        }
        return new Profile(name, Set.of(Oids.ECDSA_WITH_SHA256), Duration.ofDays(365), Duration.ofMinutes(1),
                ekus, Duration.ofMinutes(10));
    }

    /** EKU OIDs of those of {@code suids} that have a mapping, ordered by SUID. */
    public List<String> ekusFor(Set<Integer> suids) {
        return suids.stream().sorted().filter(suidEkus::containsKey).map(suidEkus::get).toList();
    }

    private static void requirePositive(String profile, String what, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("profile " + profile + ": " + what + " must be positive, not " + d);
        }
    }

    private static void requireOid(String profile, String what, String oid) {
        if (oid == null || !OID.matcher(oid).matches()) {
            throw new IllegalArgumentException("profile " + profile + ": " + what + " '" + oid + "' is not a dotted OID");
        }
    }
}
