package org.mefgateway.gateway;

import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.mefgateway.policy.NativeCrypto;
import org.mefgateway.policy.Profile;

/**
 * The TLS implementation of a listener, chosen at start: BoringSSL through netty-tcnative
 * ("openssl"), or the JDK's JSSE ("jdk") where the native library cannot load (it is in the jar for
 * linux-x86_64 only), where native crypto is forced off ({@link NativeCrypto}, the same switch as
 * CSR verification), or where a profile needs what only JSSE offers: tls-exporter channel binding
 * (netty's OpenSSL engine does not export keying material; see {@link ChannelBinding}).
 *
 * <p>On BoringSSL, TLS 1.3 resumes with session tickets whose keys BoringSSL makes at start, keeps
 * in memory only and rotates itself (every two days); TLS 1.2 resumes by session id from netty's
 * in-memory cache. BoringSSL does not implement renegotiation as a server.
 */
public record TlsEngine(String name, Optional<String> fallbackReason) {
    public static final String OPENSSL = "openssl";
    public static final String JDK = "jdk";
    static final String TS0003_CBC_SUITE = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";

    /** The engine a listener gets when none of its profiles needs channel binding. */
    private static final TlsEngine NATIVE = choose();

    /** The engine of a listener whose enrolments go through {@code profiles} (none for admin). */
    static TlsEngine forListener(Collection<Profile> profiles) {
        List<String> bound = profiles.stream().filter(p -> p.challenge().channelBinding()).map(Profile::name).sorted().toList();
        if (NATIVE.name().equals(OPENSSL) && !bound.isEmpty()) {
            return new TlsEngine(JDK, Optional.of("profile(s) " + bound + " require tls-exporter channel binding, "
                    + "which the OpenSSL engine does not export"));
        }
        return NATIVE;
    }

    private static TlsEngine choose() {
        Optional<String> forcedOff = NativeCrypto.forcedOff();
        if (forcedOff.isPresent()) {
            return new TlsEngine(JDK, forcedOff);
        }
        if (!OpenSSLEngineOptions.isAvailable()) {
            return new TlsEngine(JDK, Optional.of("netty-tcnative BoringSSL did not load: " + OpenSsl.unavailabilityCause()));
        }
        return new TlsEngine(OPENSSL, Optional.empty());
    }

    /** What Vert.x builds the listener's TLS with. */
    SSLEngineOptions options() {
        // The session cache is netty's in-memory TLS 1.2 session-id cache; TLS 1.3 tickets do not need it.
        return name.equals(OPENSSL) ? new OpenSSLEngineOptions().setSessionCacheEnabled(true) : new JdkSSLEngineOptions();
    }

    /**
     * Whether this engine can offer {@code suite}. BoringSSL has no CBC suite with an HMAC-SHA256
     * (removed upstream), so TS-0003 10.2's TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 is offered on
     * JSSE only: a device that implements nothing else needs the gateway forced to JSSE.
     */
    boolean offers(String suite) {
        return name.equals(JDK) || !suite.equals(TS0003_CBC_SUITE);
    }

    /** One line for the start log: the engine and, when it is JSSE, why. */
    String describe(String listener) {
        return "TLS engine of the " + listener + " listener: " + name + fallbackReason.map(r -> " (" + r + ")")
                .orElse(" (BoringSSL; " + TS0003_CBC_SUITE + " not offered)");
    }
}
