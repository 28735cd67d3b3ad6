package org.mefgateway.gateway.ca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The two encodings the CA does by hand for speed give exactly Bouncy Castle's DER. */
class CertificateAuthorityTest {

    @ParameterizedTest
    @ValueSource(strings = {"2026-11-27T05:30:28.999Z", "1950-01-01T00:00:00Z", "2049-12-31T23:59:59Z",
            "2050-01-01T00:00:00Z", "2126-06-30T12:00:00Z"})
    void timesEncodeAsBouncyCastleEncodesThemToTheSecond(String text) throws Exception {
        Instant instant = Instant.parse(text);

        assertArrayEquals(new Time(Date.from(instant)).getEncoded(ASN1Encoding.DER),
                CertificateAuthority.time(instant).getEncoded(ASN1Encoding.DER));
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 70, 127, 128, 255, 256, 300, 70_000})
    void aSplicedCertificateEqualsTheDerSequenceOfItsParts(int tbsLength) throws Exception {
        byte[] tbs = new DERSequence(new DERBitString(new byte[tbsLength])).getEncoded(ASN1Encoding.DER);
        AlgorithmIdentifier algorithm = new AlgorithmIdentifier(new ASN1ObjectIdentifier("1.2.840.10045.4.3.2"));
        byte[] signature = new byte[71];
        signature[0] = 0x30;

        ASN1EncodableVector v = new ASN1EncodableVector();
        v.add(DERSequence.getInstance(tbs));
        v.add(algorithm);
        v.add(new DERBitString(signature));
        assertArrayEquals(new DERSequence(v).getEncoded(ASN1Encoding.DER),
                CertificateAuthority.certificate(tbs, algorithm.getEncoded(ASN1Encoding.DER), signature));
    }
}
