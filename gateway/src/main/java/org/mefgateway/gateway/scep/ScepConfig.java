package org.mefgateway.gateway.scep;

import java.time.Duration;
import java.util.Set;

/**
 * The {@code scep:} block of the gateway configuration (docs/configuration.md "scep").
 *
 * @param enabled            false: no SCEP routes on any listener, and the RA key is not opened
 * @param path               where the SCEP CGI path is served (RFC 8894 4.1 leaves it to the server)
 * @param listeners          which listeners serve it: plain HTTP (publication, CMS protects the
 *                           messages) and/or HTTPS (the EST listener; no client certificate needed)
 * @param maxInFlight        PKIOperations parsed, decrypted or enrolled at once; beyond, 503 +
 *                           Retry-After before the message is parsed (ScepAdmission)
 * @param perClientPerSecond PKIOperations per source address per second (token bucket; 0: off)
 * @param perClientBurst     the bucket's size
 * @param maxTrackedClients  buckets kept; a new client while all are refilling is refused (429)
 * @param legacyAlgorithms   3DES envelopes and SHA-1 digests accepted and offered (RFC 8894 3.5.2); never DES or MD5
 * @param maxClockSkew       how far a request's signingTime may be from the MEF's clock (badTime)
 */
public record ScepConfig(boolean enabled, String path, Set<Listener> listeners, int maxInFlight, int perClientPerSecond,
                         int perClientBurst, int maxTrackedClients, boolean legacyAlgorithms, Duration maxClockSkew) {

    /** The listeners SCEP can be served on, by their name in the configuration. */
    public enum Listener {
        PUBLICATION, EST;

        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** On the publication listener at /scep, as the default. */
    public static final String DEFAULT_PATH = "/scep";
}
