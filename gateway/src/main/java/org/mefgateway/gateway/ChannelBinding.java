package org.mefgateway.gateway;

import java.lang.reflect.Method;
import java.util.Base64;
import java.util.Optional;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLSession;

/**
 * The TLS channel binding of a session (RFC 7030 3.5), for profiles that bind the CSR to the TLS
 * session it arrives on: {@code tls-exporter} (RFC 9266: 32 bytes exported with the label
 * "EXPORTER-Channel-Binding" and no context) on TLS 1.3.
 *
 * <p>The JDK exports keying material from JDK 25 on
 * ({@code ExtendedSSLSession.exportKeyingMaterialData}); this code is built for Java 17, so it
 * finds the method at run time and, on older JDKs, reports that no binding is available.
 * {@code tls-unique} (TLS 1.2) is not exposed by the JDK's TLS implementation at all.
 *
 * <p>Only JSSE exports: netty's OpenSSL engine (netty-tcnative 2.0.84) has no keying-material
 * exporter (tcnative's SSL class binds none; its session inherits the JDK's default method, which
 * throws), so on it this answers empty. An EST listener whose profiles require channel binding at
 * start therefore runs on JSSE ({@link TlsEngine#forListener}); a profile that requires it added by
 * a later reload is refused per request (rule challenge.channel-binding) until a restart.
 */
public final class ChannelBinding {
    private static final String LABEL = "EXPORTER-Channel-Binding";
    private static final int LENGTH = 32;
    private static final Optional<Method> EXPORT = find();

    private ChannelBinding() {
    }

    /** Whether this runtime can compute tls-exporter at all. */
    public static boolean available() {
        return EXPORT.isPresent();
    }

    /** Base64 of the session's tls-exporter value; empty on TLS 1.2 or a runtime that cannot export. */
    public static Optional<String> tlsExporter(SSLSession session) {
        if (EXPORT.isEmpty() || !(session instanceof ExtendedSSLSession extended) || !"TLSv1.3".equals(session.getProtocol())) {
            return Optional.empty();
        }
        try {
            byte[] value = (byte[]) EXPORT.get().invoke(extended, LABEL, null, LENGTH);
            return value == null ? Optional.empty() : Optional.of(Base64.getEncoder().encodeToString(value));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<Method> find() {
        try {
            return Optional.of(ExtendedSSLSession.class.getMethod("exportKeyingMaterialData", String.class, byte[].class, int.class));
        } catch (NoSuchMethodException e) {
            return Optional.empty();
        }
    }
}
