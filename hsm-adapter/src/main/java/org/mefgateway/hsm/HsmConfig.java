package org.mefgateway.hsm;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the CA key lives and how to log in. The PIN itself is never part of the configuration:
 * only the name of the environment variable or the file that holds it.
 *
 * @param library      path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so)
 * @param tokenLabel   CKA label of the token (CK_TOKEN_INFO.label) holding the CA key
 * @param keyLabel     label (alias) of the CA private key and its certificate on the token
 * @param pinEnv       environment variable holding the user PIN, if the PIN comes from the environment
 * @param pinFile      file holding the user PIN, if it comes from a file (must not be readable by others)
 * @param signerThreads number of signing workers on this token; 0 measures the token's useful
 *                      parallelism when the signer starts (see {@link Parallelism})
 * @param queueCapacity signatures allowed to wait for a worker before callers are refused
 */
public record HsmConfig(
        Path library,
        String tokenLabel,
        String keyLabel,
        Optional<String> pinEnv,
        Optional<Path> pinFile,
        int signerThreads,
        int queueCapacity) {

    /** Signer threads measured on the token when the signer starts. */
    public static final int AUTO_THREADS = 0;

    public HsmConfig {
        Objects.requireNonNull(library, "library");
        Objects.requireNonNull(tokenLabel, "tokenLabel");
        Objects.requireNonNull(keyLabel, "keyLabel");
        Objects.requireNonNull(pinEnv, "pinEnv");
        Objects.requireNonNull(pinFile, "pinFile");
        if (pinEnv.isEmpty() == pinFile.isEmpty()) {
            throw new IllegalArgumentException("hsm: give exactly one of pinEnv and pinFile");
        }
        if (signerThreads < 0) {
            throw new IllegalArgumentException("hsm.signerThreads must be a number of threads, or 0 (auto) to measure the token");
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("hsm.queueCapacity must be at least 1");
        }
    }
}
