package org.mefgateway.gateway.ca;

import java.math.BigInteger;
import java.security.SecureRandom;

/**
 * Certificate serial numbers: 127 random bits from a CSPRNG (more than the 64 that CA/Browser
 * Forum practice asks for), positive and at most 16 octets so they fit RFC 5280's 20-octet limit.
 * Uniqueness is enforced by the ledger's primary key.
 */
public final class Serials {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Serials() {
    }

    public static BigInteger next() {
        BigInteger serial;
        do {
            serial = new BigInteger(127, RANDOM);
        } while (serial.signum() == 0);
        return serial;
    }
}
