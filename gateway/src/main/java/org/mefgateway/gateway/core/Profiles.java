package org.mefgateway.gateway.core;

import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.mefgateway.gateway.LogText;
import org.mefgateway.gateway.ca.CertificateAuthority;
import org.mefgateway.gateway.store.StoredEnrolee;
import org.mefgateway.policy.PolicyEngine;

/** Which profile decides a request, and which CA signs for it. */
public final class Profiles {
    /** A request on a label whose profile the Enrolee's registration does not name. */
    static final String ENROLEE_LABEL = "enrolee.label";

    private final PolicyDirectory policies;
    /** One CA per configured CA key, by key name; a profile's caKey picks one. */
    private final Map<String, CertificateAuthority> cas;
    private final Refusals refusals;

    public Profiles(PolicyDirectory policies, Map<String, CertificateAuthority> cas, Refusals refusals) {
        this.policies = policies;
        this.cas = Map.copyOf(cas);
        this.refusals = refusals;
    }

    /**
     * The policy of a label, taken once per request so that a reload in the middle of a request
     * cannot mix two profiles. An unknown label is an unknown resource (RFC 7030 3.2.2).
     */
    public PolicyEngine policy(String label) {
        return policies.forLabel(label).orElseThrow(() -> OperationException.of(ErrorCode.NOT_FOUND, label.isEmpty()
                ? "this MEF serves EST only under a label (no default.yaml profile): use /.well-known/est/<label>/..."
                : "no profile serves the EST label '" + LogText.safe(label) + "'"));
    }

    /** The policy of a label, if a profile still serves it. */
    Optional<PolicyEngine> forLabel(String label) {
        return policies.forLabel(label);
    }

    /**
     * The profile that decides this Enrolee's request on {@code label}. Its registration names the
     * profiles it may use (TS-0003 8.3.9.7: its CERT_PROV command names one); a renewal is decided
     * by the profile that issued the certificate being renewed, whichever label carries it, unless
     * the operator has since moved the Enrolee off that profile.
     */
    PolicyEngine policyFor(Caller caller, String label) {
        PolicyEngine requested = policy(label);
        StoredEnrolee enrolee = caller.enrolee();
        Optional<PolicyEngine> issuing = caller.currentProfile().filter(enrolee::mayUse).flatMap(policies::forProfile);
        if (issuing.isPresent()) {
            return issuing.get();
        }
        String profile = requested.profile().name();
        if (!enrolee.mayUse(profile)) {
            throw refusals.refuse(enrolee, requested, ENROLEE_LABEL, "Enrolee " + enrolee.enrolee().id() + " is registered for profile(s) "
                    + enrolee.profiles() + ", not " + profile + ": use " + enrolee.profiles().stream()
                            .map(p -> "/.well-known/est" + (PolicyDirectory.labelOf(p).isEmpty() ? "" : "/" + p) + "/")
                            .collect(Collectors.joining(" or ")) + ", or ask the operator to instruct it for " + profile);
        }
        return requested;
    }

    /** The CA that signs for this profile (PolicyDirectory checked at load that its key exists). */
    public CertificateAuthority ca(PolicyEngine policy) {
        return cas.get(policy.profile().caKey());
    }

    /** Every CA of this gateway, for telling its own certificates from bootstrap ones. */
    Iterable<CertificateAuthority> all() {
        return cas.values();
    }
}
