package org.mefgateway.it.hsm;

import java.io.IOException;
import java.nio.file.Path;
import sun.security.pkcs11.wrapper.CK_SESSION_INFO;
import sun.security.pkcs11.wrapper.PKCS11;
import sun.security.pkcs11.wrapper.PKCS11Exception;

/**
 * Looks at a SoftHSM token from inside the test's own process through the JDK's PKCS#11 wrapper.
 * {@code PKCS11.getInstance} returns the one module instance the whole JVM shares, so what we see
 * and do here is what the signer's SunPKCS11 providers see: the same sessions, the same login.
 */
public final class Pkcs11Sessions {
    private static final long CKF_SERIAL_SESSION = 0x4;

    private final PKCS11 p11;
    private final long slot;

    public Pkcs11Sessions(Path library, long slot) throws IOException, PKCS11Exception {
        this.p11 = PKCS11.getInstance(library.toString(), "C_GetFunctionList", null, false);
        this.slot = slot;
    }

    /**
     * The sessions open on the slot in this process. SoftHSM reports CK_UNAVAILABLE_INFORMATION as
     * CK_TOKEN_INFO.ulSessionCount, so we count by asking C_GetSessionInfo about every handle up to
     * the newest one. SoftHSM hands out session and object handles from one increasing counter and
     * never reuses them, so a session we open ourselves has the highest handle there is; ours is
     * not counted.
     */
    int open() throws PKCS11Exception {
        return handles().size();
    }

    private java.util.List<Long> handles() throws PKCS11Exception {
        long mine = p11.C_OpenSession(slot, CKF_SERIAL_SESSION, null, null);
        try {
            java.util.List<Long> open = new java.util.ArrayList<>();
            for (long handle = 1; handle < mine; handle++) {
                try {
                    CK_SESSION_INFO info = p11.C_GetSessionInfo(handle);
                    if (info.slotID == slot) {
                        open.add(handle);
                    }
                } catch (PKCS11Exception notASession) {
                    // a closed session, or an object handle
                }
            }
            return open;
        } finally {
            p11.C_CloseSession(mine);
        }
    }

    /**
     * The fault: closes every session of the process on the slot, one by one (the JDK's wrapper
     * has no C_CloseAllSessions). Closing an application's last session on a token also logs it
     * out (PKCS#11 v2.40 5.6, and SoftHSM does). This is what an HSM restart, a lost network-HSM
     * connection or a token reset does to a running application: every session handle the
     * providers hold is dead, and SoftHSM itself answers their next call with
     * CKR_SESSION_HANDLE_INVALID; new sessions are not logged in.
     */
    public void closeAll() throws PKCS11Exception {
        for (long handle : handles()) {
            try {
                p11.C_CloseSession(handle);
            } catch (PKCS11Exception alreadyClosed) {
                // a signer's session may close between listing and closing; gone either way
            }
        }
    }
}
