package org.mefgateway.enrolee;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What a {@link Renewal} needs.
 *
 * @param mef        the MEF's base URL, {@code https://HOST:PORT}
 * @param label      the EST label, or null
 * @param file       the installed PKCS#12 (written by {@code enrol}): key entry {@code enrolee} and the
 *                   trust anchors {@code anchor-N}; replaced atomically by the renewed credential
 * @param password   its password (also protects the pending request file next to it)
 * @param window     renew only when the certificate expires within this time (unless {@code force})
 * @param force      renew even if the certificate is not yet inside the window
 * @param sameKey    keep the current key instead of generating a new one (re-key is the default)
 * @param waitBudget how long to keep repeating the request while the MEF answers 202 or 503 with
 *                   Retry-After; zero: do not wait
 */
public record RenewalOptions(URI mef, String label, Path file, char[] password, Duration window, boolean force,
                             boolean sameKey, Duration waitBudget) {
    /** The default renewal window: 30 days before notAfter. */
    public static final Duration DEFAULT_WINDOW = Duration.ofDays(30);

    public RenewalOptions {
        if (window == null || window.isNegative() || waitBudget == null || waitBudget.isNegative()) {
            throw new IllegalArgumentException("the renewal window and the wait budget must be zero or positive");
        }
    }
}
