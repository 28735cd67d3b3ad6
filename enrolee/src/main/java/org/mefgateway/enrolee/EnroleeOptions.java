package org.mefgateway.enrolee;

import java.net.URI;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * What an {@link Enrolee} needs to enrol.
 *
 * @param mef               the MEF's base URL, {@code https://HOST:PORT}
 * @param label             the EST label (path segment after {@code /.well-known/est}), or null
 * @param bootstrap         the bootstrap credential: a key store with one private key entry and its
 *                          chain, used as the TLS client certificate
 * @param bootstrapPassword the password of the bootstrap key entry
 * @param mefTrustAnchors   the explicit trust anchor(s) that authenticate the MEF's TLS server
 *                          before the Enrolee has installed the MEF's CA certificates
 * @param out               where to write the resulting PKCS#12 (see {@link Credentials})
 * @param outPassword       the password protecting that file (and the pending request file next to it)
 * @param waitBudget        how long to keep repeating the request while the MEF answers 202 or 503
 *                          with Retry-After; zero: do not wait, keep the request pending and fail
 */
public record EnroleeOptions(URI mef, String label, KeyStore bootstrap, char[] bootstrapPassword,
                             List<X509Certificate> mefTrustAnchors, Path out, char[] outPassword, Duration waitBudget) {
    public EnroleeOptions {
        mefTrustAnchors = List.copyOf(mefTrustAnchors);
        if (waitBudget == null || waitBudget.isNegative()) {
            throw new IllegalArgumentException("the wait budget must be zero or positive");
        }
    }

    /** Options that do not wait for deferred issuance. */
    public EnroleeOptions(URI mef, String label, KeyStore bootstrap, char[] bootstrapPassword,
                          List<X509Certificate> mefTrustAnchors, Path out, char[] outPassword) {
        this(mef, label, bootstrap, bootstrapPassword, mefTrustAnchors, out, outPassword, Duration.ZERO);
    }
}
