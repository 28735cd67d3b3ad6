package org.mefgateway.gateway.core;

import java.security.cert.X509Certificate;
import java.util.Optional;
import org.mefgateway.gateway.store.StoredEnrolee;

/**
 * Who is asking, as {@link EnroleeAuthenticator} found it: the registered Enrolee, and on
 * re-enrolment the certificate it authenticated with (issued by this CA, in the ledger, not
 * revoked) and the profile that issued it.
 */
public record Caller(StoredEnrolee enrolee, Optional<X509Certificate> current, Optional<String> currentProfile) {
}
