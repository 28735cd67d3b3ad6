package org.mefgateway.gateway.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * challengePassword values (TS-0003 step 5): 128 random bits written as 32 hex digits, which
 * fit a PrintableString (RFC 2985 5.4.1) and any CSR tool. The store keeps only their SHA-256.
 */
public final class Challenges {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Challenges() {
    }

    public static String next() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    public static String hash(String challenge) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(challenge.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }
}
