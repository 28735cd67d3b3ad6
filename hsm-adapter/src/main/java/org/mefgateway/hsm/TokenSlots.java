package org.mefgateway.hsm;

import java.io.IOException;
import sun.security.pkcs11.wrapper.CK_TOKEN_INFO;
import sun.security.pkcs11.wrapper.PKCS11;
import sun.security.pkcs11.wrapper.PKCS11Exception;

/**
 * Finds the slot that holds a token by its label. SunPKCS11's configuration can only name a slot
 * id or a slot list index, and slot ids of tokens such as SoftHSM's change when tokens are added,
 * so operators name the token and we resolve it. This is the one place that uses the JDK's
 * PKCS#11 wrapper directly (it needs {@code --add-exports jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED},
 * which the launchers and the gateway jar's manifest give).
 */
final class TokenSlots {
    private TokenSlots() {
    }

    static long slotOf(String library, String tokenLabel) throws HsmException {
        try {
            PKCS11 p11 = PKCS11.getInstance(library, "C_GetFunctionList", null, false);
            StringBuilder seen = new StringBuilder();
            for (long slot : p11.C_GetSlotList(true)) {
                CK_TOKEN_INFO info = p11.C_GetTokenInfo(slot);
                String label = label(info);
                if (label.equals(tokenLabel)) {
                    return slot;
                }
                if (!label.isEmpty()) {
                    seen.append(seen.length() == 0 ? "" : ", ").append('\'').append(label).append('\'');
                }
            }
            throw new KeyNotFoundException("no token labelled '" + tokenLabel + "' in " + library
                    + (seen.length() == 0 ? " (no initialised token found)" : " (tokens present: " + seen + ")"));
        } catch (IOException e) {
            throw new HsmException("cannot load the PKCS#11 library " + library + ": " + e.getMessage(), e);
        } catch (PKCS11Exception e) {
            throw new HsmException("PKCS#11 error while looking for token '" + tokenLabel + "': " + e.getMessage(), e);
        }
    }

    /** CK_TOKEN_INFO.label is 32 characters padded with blanks. */
    private static String label(CK_TOKEN_INFO info) {
        return new String(info.label).strip();
    }
}
