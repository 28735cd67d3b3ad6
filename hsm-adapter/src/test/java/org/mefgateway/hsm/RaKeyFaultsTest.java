package org.mefgateway.hsm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.security.ProviderException;
import java.util.Optional;
import javax.crypto.BadPaddingException;
import org.bouncycastle.cms.CMSException;
import org.junit.jupiter.api.Test;

/**
 * What counts as the RA key's token failing rather than the envelope (the codes themselves, and a
 * bad envelope SoftHSM2 answers with CKR_GENERAL_ERROR, are proven on a real token by
 * ScepRaKeyFaultTest).
 */
class RaKeyFaultsTest {

    @Test
    void anEnvelopeWithoutTheRaRecipientOrWithBadSoftwarePaddingIsTheEnvelopesFault() {
        assertEquals(Optional.empty(), RaKey.tokenFault(new CMSException("the envelope is not encrypted to the RA certificate")));
        assertEquals(Optional.empty(), RaKey.tokenFault(new CMSException("bad AES padding", new BadPaddingException("pad block corrupted"))));
    }

    /** SunPKCS11's own failures (such as "Token has been removed") carry no code: the token's fault. */
    @Test
    void aProviderExceptionWithoutACodeAnywhereInTheChainIsATokenFault() {
        assertEquals(Optional.of("NO_CKR"), RaKey.tokenFault(new CMSException("exception unwrapping key",
                new ProviderException("Token has been removed"))));
    }
}
