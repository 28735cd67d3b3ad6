package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Base64;

import org.junit.jupiter.api.Test;

class EstClientTest {
    private static final byte[] DER = new byte[120];

    static {
        for (int i = 0; i < DER.length; i++) {
            DER[i] = (byte) (i * 7);
        }
    }

    @Test
    void decodesBase64WrappedWithCrLf() {
        String wrapped = Base64.getMimeEncoder(64, "\r\n".getBytes()).encodeToString(DER) + "\r\n";

        assertArrayEquals(DER, EstClient.decodeBase64(wrapped));
    }

    @Test
    void decodesBase64WithSpacesTabsAndBareLineFeeds() {
        String plain = Base64.getEncoder().encodeToString(DER);
        String messy = " \t" + plain.substring(0, 10) + "\n" + plain.substring(10, 50) + " \t " + plain.substring(50) + "\n\n";

        assertArrayEquals(DER, EstClient.decodeBase64(messy));
    }

    @Test
    void rejectsCharactersOutsideBase64AndWhitespace() {
        String plain = Base64.getEncoder().encodeToString(DER);

        assertThrows(IllegalArgumentException.class, () -> EstClient.decodeBase64(plain.substring(0, 8) + "*" + plain.substring(8)));
        assertThrows(IllegalArgumentException.class, () -> EstClient.decodeBase64("<html>error</html>"));
    }
}
