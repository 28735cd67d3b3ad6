package org.mefgateway.gateway.store;

import java.util.Optional;
import java.time.Instant;
import org.mefgateway.policy.RegisteredEnrolee;

/**
 * A registered Enrolee with what the MEF keeps about it: the bootstrap certificate that
 * authenticates it and the MEF Client Command pending for it.
 */
public record StoredEnrolee(RegisteredEnrolee enrolee, String bootstrapFingerprint, Command command, Instant registeredAt,
                            Optional<CommandResult> commandResult) {

    /** The MEF Client Command (TS-0003 8.3.9.7) waiting for the Enrolee. */
    public enum Command { CERT_PROV, NO_MORE_COMMANDS }

    /** How the Enrolee's last attempt at its CERT_PROV command ended (TS-0003 8.3.9.7 result codes). */
    public enum CommandResult { OK, CERT_PROV_SERVER_ERROR, CERT_PROV_CLIENT_ERROR }
}
