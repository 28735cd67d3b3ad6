package org.mefgateway.hsm;

import java.util.Map;
import sun.security.pkcs11.wrapper.PKCS11Exception;

/**
 * PKCS#11 return values (CKR_*) that a signer meets, and what each means for the token: a
 * <em>token fault</em> makes every later signature on this provider instance fail too (sessions
 * gone, logged out, device error, token removed), so the circuit opens and the token is
 * re-initialised; any other code concerns this one request only.
 *
 * <p>Codes are the PKCS#11 v2.40 values, kept here rather than read from the JDK's constants
 * because those moved between JDK 17 and 21.
 */
final class Ckr {
    static final long CKR_SLOT_ID_INVALID = 0x03;
    static final long CKR_GENERAL_ERROR = 0x05;
    static final long CKR_FUNCTION_FAILED = 0x06;
    static final long CKR_ARGUMENTS_BAD = 0x07;
    static final long CKR_DATA_INVALID = 0x20;
    static final long CKR_DATA_LEN_RANGE = 0x21;
    static final long CKR_DEVICE_ERROR = 0x30;
    static final long CKR_DEVICE_MEMORY = 0x31;
    static final long CKR_DEVICE_REMOVED = 0x32;
    static final long CKR_KEY_HANDLE_INVALID = 0x60;
    static final long CKR_OBJECT_HANDLE_INVALID = 0x82;
    static final long CKR_OPERATION_NOT_INITIALIZED = 0x91;
    static final long CKR_SESSION_CLOSED = 0xB0;
    static final long CKR_SESSION_COUNT = 0xB1;
    static final long CKR_SESSION_HANDLE_INVALID = 0xB3;
    static final long CKR_TOKEN_NOT_PRESENT = 0xE0;
    static final long CKR_TOKEN_NOT_RECOGNIZED = 0xE1;
    static final long CKR_USER_NOT_LOGGED_IN = 0x101;
    static final long CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;

    private static final Map<Long, String> NAMES = Map.ofEntries(
            Map.entry(CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"),
            Map.entry(CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"),
            Map.entry(CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"),
            Map.entry(CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"),
            Map.entry(CKR_DATA_INVALID, "CKR_DATA_INVALID"),
            Map.entry(CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE"),
            Map.entry(CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"),
            Map.entry(CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"),
            Map.entry(CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"),
            Map.entry(CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"),
            Map.entry(CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"),
            Map.entry(CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED"),
            Map.entry(CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"),
            Map.entry(CKR_SESSION_COUNT, "CKR_SESSION_COUNT"),
            Map.entry(CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"),
            Map.entry(CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"),
            Map.entry(CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"),
            Map.entry(CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"),
            Map.entry(CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"));

    /** Request-level codes: the token is fine, this input or call was not. */
    private static final java.util.Set<Long> REQUEST_ONLY = java.util.Set.of(
            CKR_ARGUMENTS_BAD, CKR_DATA_INVALID, CKR_DATA_LEN_RANGE);

    private Ckr() {
    }

    static String name(long code) {
        return NAMES.getOrDefault(code, String.format("CKR_0x%08X", code));
    }

    /**
     * Whether the code leaves the provider instance unusable. Unknown codes count as token faults:
     * a needless re-initialisation costs a login, a missed one fails every request that follows.
     */
    static boolean isTokenFault(long code) {
        return !REQUEST_ONLY.contains(code);
    }

    /**
     * Codes with which a module answers a fresh provider instance once it has lost its view of the
     * token: the slot or token is gone, the device failed, or the module is not initialised.
     * SoftHSM answers CKR_GENERAL_ERROR to every call after its token's directory or object files
     * vanished, even once they are back. Only initialising the module again may cure these (see
     * {@link Pkcs11Module}); a wrong PIN or a refused request is not among them.
     */
    private static final java.util.Set<Long> TOKEN_LOST = java.util.Set.of(
            CKR_SLOT_ID_INVALID, CKR_GENERAL_ERROR, CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
            CKR_TOKEN_NOT_RECOGNIZED, CKR_CRYPTOKI_NOT_INITIALIZED);

    static boolean isTokenLost(long code) {
        return TOKEN_LOST.contains(code);
    }

    /**
     * What went wrong in a failed signature. SunPKCS11 wraps the PKCS11Exception in a
     * ProviderException or SignatureException; when there is none (for example SunPKCS11's own
     * "token has been removed"), the token is treated as faulty with the label {@code NO_CKR}.
     */
    static Failure classify(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PKCS11Exception p) {
                long code = p.getErrorCode();
                return new Failure(name(code), isTokenFault(code));
            }
        }
        return new Failure("NO_CKR", true);
    }

    /** @param ckr the CKR name, the tag of the error metric; @param tokenFault whether the circuit opens */
    record Failure(String ckr, boolean tokenFault) {
    }
}
