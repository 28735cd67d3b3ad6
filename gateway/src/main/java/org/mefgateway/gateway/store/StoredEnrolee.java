package org.mefgateway.gateway.store;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.mefgateway.policy.RegisteredEnrolee;

/**
 * A registered Enrolee with what the MEF keeps about it: the bootstrap certificate that
 * authenticates it, the MEF Client Command pending for it, and the profiles it may enrol under.
 *
 * @param profiles     names of the profiles (EST labels; {@code default} = no label) this Enrolee may
 *                     use, the one its CERT_PROV command names first; {@link #ANY_PROFILE} alone for a
 *                     registration made before profiles were bound
 * @param instructedAt when the operator last instructed it (its registration counts as the first)
 * @param protocol     the certificate provisioning protocol its CERT_PROV command names
 */
public record StoredEnrolee(RegisteredEnrolee enrolee, String bootstrapFingerprint, Command command, Instant registeredAt,
                            Optional<CommandResult> commandResult, List<String> profiles, Instant instructedAt,
                            CertProvProtocol protocol) {

    /** A registration from before profiles were bound to Enrolees: any profile may serve it. */
    public static final String ANY_PROFILE = "*";

    public StoredEnrolee {
        profiles = List.copyOf(profiles);
        if (profiles.isEmpty()) {
            throw new IllegalArgumentException("an Enrolee may use at least one profile");
        }
    }

    /** The MEF Client Command (TS-0003 8.3.9.7) waiting for the Enrolee. */
    public enum Command { CERT_PROV, NO_MORE_COMMANDS }

    /**
     * certProvProtocolID of the CERT_PROV command (TS-0003 12.3.2.5: 1 = EST, 2 = SCEP). An EST
     * Enrolee asks csrattrs for its challenge; a SCEP one has no csrattrs (RFC 8894), so the
     * operator hands it the challengePassword issued when instructing it.
     */
    public enum CertProvProtocol { EST, SCEP }

    /** How the Enrolee's last attempt at its CERT_PROV command ended (TS-0003 8.3.9.7 result codes). */
    public enum CommandResult { OK, CERT_PROV_SERVER_ERROR, CERT_PROV_CLIENT_ERROR }

    /** Whether this registration lets the Enrolee enrol under {@code profile}. */
    public boolean mayUse(String profile) {
        return profiles.contains(profile) || profiles.equals(List.of(ANY_PROFILE));
    }

    /** The profile its CERT_PROV command names (empty for a registration bound to any profile). */
    public Optional<String> instructedProfile() {
        return profiles.get(0).equals(ANY_PROFILE) ? Optional.empty() : Optional.of(profiles.get(0));
    }
}
