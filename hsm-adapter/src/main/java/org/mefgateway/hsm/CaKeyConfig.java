package org.mefgateway.hsm;

import java.util.List;
import java.util.Objects;

/**
 * One CA key, by the name the gateway's profiles use for it, and the tokens that hold it. The
 * first token is where the key was made; further tokens (other slots of the same HSM, or other
 * HSMs of a cluster) hold the same key and share the load and take over when one fails. The key
 * on every token must be the same key: the signer checks that before it uses a token.
 *
 * @param name   the key's name in the gateway configuration ("default" for the top-level hsm key)
 * @param tokens where the key is, each with its own PIN source and pool size; at least one
 */
public record CaKeyConfig(String name, List<HsmConfig> tokens) {
    public static final String DEFAULT = "default";

    public CaKeyConfig {
        Objects.requireNonNull(name, "name");
        tokens = List.copyOf(tokens);
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("CA key '" + name + "' names no token");
        }
    }

    /** The token where the key was generated and where token commands (init, csr, import) act. */
    public HsmConfig primary() {
        return tokens.get(0);
    }
}
