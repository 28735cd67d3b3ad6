package org.mefgateway.gateway.scep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Hashtable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The legacy switch and signingTime as the wire reads them: 3DES envelopes and SHA-1 digests are
 * badAlg unless the switch is on; single DES never (RFC 8894 3.5.2). Messages built with Bouncy
 * Castle's CMS generators, independent of {@link ScepWire}'s writing side.
 */
class ScepWireTest {
    static final BouncyCastleProvider BC = new BouncyCastleProvider();
    static KeyPair keys;
    static X509Certificate self;

    @BeforeAll
    static void keys() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        keys = generator.generateKeyPair();
        X500Name name = new X500Name("CN=scep-wire-test");
        self = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
                Date.from(Instant.now().minus(Duration.ofMinutes(1))), Date.from(Instant.now().plus(Duration.ofDays(1))), name,
                keys.getPublic()).build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
    }

    @Test
    void aTripleDesEnvelopeIsBadAlgWithoutTheLegacySwitchAndAcceptedWithIt() throws Exception {
        PkiMessage message = ScepWire.read(message(CMSAlgorithm.DES_EDE3_CBC, "SHA256withRSA", Instant.now()));
        assertEquals(FailInfo.BAD_ALG, assertThrows(ScepFailure.class, () -> ScepWire.envelope(message, false)).failInfo());
        assertEquals(CMSAlgorithm.DES_EDE3_CBC.getId(), ScepWire.envelope(message, true).getEncryptionAlgOID());
    }

    @Test
    void aSingleDesEnvelopeIsBadAlgEvenWithTheLegacySwitch() throws Exception {
        PkiMessage message = ScepWire.read(message(CMSAlgorithm.DES_CBC, "SHA256withRSA", Instant.now()));
        assertEquals(FailInfo.BAD_ALG, assertThrows(ScepFailure.class, () -> ScepWire.envelope(message, true)).failInfo());
    }

    @Test
    void aSha1DigestIsBadAlgWithoutTheLegacySwitchAndAcceptedWithIt() throws Exception {
        PkiMessage message = ScepWire.read(message(CMSAlgorithm.AES128_CBC, "SHA1withRSA", Instant.now()));
        assertEquals(FailInfo.BAD_ALG, assertThrows(ScepFailure.class, () -> ScepWire.checkDigest(message, false)).failInfo());
        ScepWire.checkDigest(message, true);
    }

    @Test
    void anMd5DigestIsBadAlgEvenWithTheLegacySwitch() throws Exception {
        PkiMessage message = ScepWire.read(message(CMSAlgorithm.AES128_CBC, "MD5withRSA", Instant.now()));
        assertEquals(FailInfo.BAD_ALG, assertThrows(ScepFailure.class, () -> ScepWire.checkDigest(message, true)).failInfo());
    }

    @Test
    void theSigningTimeIsReadFromTheSignedAttributes() throws Exception {
        Instant at = Instant.parse("2026-12-04T12:00:00Z");
        assertEquals(at, ScepWire.signingTime(ScepWire.read(message(CMSAlgorithm.AES128_CBC, "SHA256withRSA", at))).orElseThrow());
    }

    /** A PKCSReq-shaped pkiMessage, enveloped to its own certificate (only the algorithms matter here). */
    private static byte[] message(ASN1ObjectIdentifier cipher, String signatureAlgorithm, Instant signingTime) throws Exception {
        CMSEnvelopedDataGenerator envelope = new CMSEnvelopedDataGenerator();
        envelope.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(self).setProvider(BC));
        byte[] enveloped = envelope.generate(new CMSProcessableByteArray(new byte[] {1, 2, 3}),
                new JceCMSContentEncryptorBuilder(cipher).setProvider(BC).build()).getEncoded();
        Hashtable<ASN1ObjectIdentifier, Attribute> attributes = new Hashtable<>();
        put(attributes, ScepWire.MESSAGE_TYPE, new DERPrintableString("19"));
        put(attributes, ScepWire.TRANSACTION_ID, new DERPrintableString("tx"));
        put(attributes, ScepWire.SENDER_NONCE, new DEROctetString(new byte[16]));
        put(attributes, CMSAttributes.signingTime, new Time(Date.from(signingTime)));
        CMSSignedDataGenerator signed = new CMSSignedDataGenerator();
        signed.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder().setProvider(BC).build())
                .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(new AttributeTable(attributes)))
                .build(new JcaContentSignerBuilder(signatureAlgorithm).setProvider(BC).build(keys.getPrivate()), self));
        signed.addCertificate(new JcaX509CertificateHolder(self));
        return signed.generate(new CMSProcessableByteArray(enveloped), true).getEncoded();
    }

    private static void put(Hashtable<ASN1ObjectIdentifier, Attribute> attributes, ASN1ObjectIdentifier type,
                            org.bouncycastle.asn1.ASN1Encodable value) {
        attributes.put(type, new Attribute(type, new DERSet(value)));
    }
}
