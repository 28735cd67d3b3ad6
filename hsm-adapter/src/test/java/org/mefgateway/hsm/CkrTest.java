package org.mefgateway.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.ProviderException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class CkrTest {

    /** Codes after which the provider instance cannot sign again: sessions, login, device, token. */
    @ParameterizedTest
    @ValueSource(longs = {0xB3, 0xB0, 0x30, 0x31, 0x32, 0xE0, 0xE1, 0x101, 0x60, 0x82, 0x190, 0x05, 0x06})
    void tokenLevelCodesOpenTheCircuit(long code) {
        assertTrue(Ckr.isTokenFault(code), Ckr.name(code));
    }

    @ParameterizedTest
    @ValueSource(longs = {0x07, 0x20, 0x21})
    void codesAboutTheRequestLeaveTheTokenInService(long code) {
        assertFalse(Ckr.isTokenFault(code), Ckr.name(code));
    }

    /** Codes with which a module answers once it has lost the token: only re-initialising the module may help. */
    @ParameterizedTest
    @ValueSource(longs = {0x03, 0x05, 0x30, 0x32, 0xE0, 0xE1, 0x190})
    void codesOfAModuleThatLostItsTokenAskForAModuleReload(long code) {
        assertTrue(Ckr.isTokenLost(code), Ckr.name(code));
    }

    /** Session and login codes are cured by a fresh provider instance; a wrong PIN by no reload. */
    @ParameterizedTest
    @ValueSource(longs = {0xB3, 0xB0, 0x101, 0x60, 0x82, 0xA0, 0x06, 0x20})
    void sessionLoginAndRequestCodesDoNot(long code) {
        assertFalse(Ckr.isTokenLost(code), Ckr.name(code));
    }

    @Test
    void unknownCodesAreTokenFaultsAndNamedInHex() {
        assertTrue(Ckr.isTokenFault(0x12345));
        assertEquals("CKR_0x00012345", Ckr.name(0x12345));
        assertEquals("CKR_SESSION_HANDLE_INVALID", Ckr.name(0xB3));
    }

    @Test
    void aFailureWithoutAPkcs11CodeIsATokenFault() {
        Ckr.Failure f = Ckr.classify(new ProviderException("Token has been removed"));
        assertEquals("NO_CKR", f.ckr());
        assertTrue(f.tokenFault());
    }
}
