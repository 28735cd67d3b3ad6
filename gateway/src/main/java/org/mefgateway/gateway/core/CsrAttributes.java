package org.mefgateway.gateway.core;

import java.util.List;
import java.util.Optional;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.SubjectAltName;

/**
 * What the MEF tells one Enrolee to put in its CSR (TS-0003 step 5): the fresh challengePassword
 * when the profile requires one, the key types the profile accepts, the identity the
 * subjectAltName must carry when the profile binds to it, and the EKUs of its SUIDs. Each protocol
 * encodes it its own way (EST: the csrattrs SEQUENCE, EstWire).
 */
public record CsrAttributes(Optional<String> challengePassword, Profile.Keys keys, Optional<SubjectAltName> identity,
                            List<String> ekus) {
}
