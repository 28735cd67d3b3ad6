package org.mefgateway.policy;

import java.util.Locale;
import java.util.Optional;

/**
 * The one switch for native crypto (CSR verification on ACCP, TLS on BoringSSL): on unless forced
 * off by {@code -Dmef.crypto.native=false} or, without the property, {@code MEF_NATIVE_CRYPTO=off}
 * (also "0", "no"). Each native component still falls back on its own when its library cannot load.
 */
public final class NativeCrypto {
    private NativeCrypto() {
    }

    /** Why native crypto is forced off in this JVM; empty when it is allowed. */
    public static Optional<String> forcedOff() {
        String property = System.getProperty("mef.crypto.native");
        String env = System.getenv("MEF_NATIVE_CRYPTO");
        if (property != null && off(property)) {
            return Optional.of("forced off by -Dmef.crypto.native=" + property);
        }
        if (property == null && env != null && off(env)) {
            return Optional.of("forced off by MEF_NATIVE_CRYPTO=" + env);
        }
        return Optional.empty();
    }

    private static boolean off(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "false", "off", "0", "no" -> true;
            default -> false;
        };
    }
}
