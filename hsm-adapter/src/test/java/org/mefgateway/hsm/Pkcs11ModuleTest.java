package org.mefgateway.hsm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.security.ProviderException;
import org.junit.jupiter.api.Test;
import sun.security.pkcs11.wrapper.PKCS11Exception;

class Pkcs11ModuleTest {

    /** SoftHSM after its token's directory vanished and came back: every call CKR_GENERAL_ERROR. */
    @Test
    void aGeneralErrorWhileLookingForTheTokenIsCuredByAReload() {
        assertTrue(Pkcs11Module.cures(new HsmException("PKCS#11 error while looking for token 't': CKR_GENERAL_ERROR",
                new PKCS11Exception(0x05, null))));
    }

    /** SunPKCS11 wraps the code of a failed provider construction in a ProviderException. */
    @Test
    void aLostTokenBehindSunPkcs11sOwnExceptionIsCuredByAReload() {
        assertTrue(Pkcs11Module.cures(new HsmException("cannot open token 't': Initialization failed",
                new ProviderException("Initialization failed", new PKCS11Exception(0x190, null)))));
    }

    /** The slot gone after a reload, or the key's object files gone: SoftHSM reads them again only when initialised. */
    @Test
    void aTokenOrKeyNotFoundIsCuredByAReload() {
        assertTrue(Pkcs11Module.cures(new KeyNotFoundException("no token labelled 't' in lib (no initialised token found)")));
        assertTrue(Pkcs11Module.cures(new KeyNotFoundException("no CA key 'ca' on token 't' (run 'mefgate init' first)")));
    }

    @Test
    void aWrongPinAnUnreadablePinFileOrAnotherKeyAreNot() {
        assertFalse(Pkcs11Module.cures(new HsmException("cannot log in to token 't' (wrong PIN or token not ready)",
                new IOException("load failed", new PKCS11Exception(0xA0, null)))));
        assertFalse(Pkcs11Module.cures(new HsmException("cannot read the HSM PIN file /x: NoSuchFileException")));
        assertFalse(Pkcs11Module.cures(new WrongKeyException("token 't' holds a different key under label 'ca': refused")));
    }

    /** A session closed under the provider is cured by a fresh instance alone. */
    @Test
    void aDeadSessionIsNot() {
        assertFalse(Pkcs11Module.cures(new HsmException("probe signature failed", new ProviderException(new PKCS11Exception(0xB3, null)))));
    }
}
