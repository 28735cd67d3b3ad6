package org.mefgateway.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.Hashtable;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1PrintableString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * A SCEP client written for the tests with Bouncy Castle's CMS classes (RFC 8894 3), independent
 * of the gateway's own SCEP code: it builds PKCSReq, CertPoll, GetCert and GetCRL messages, including broken ones, and reads CertRep.
 */
final class BcScep {
    static final ASN1ObjectIdentifier MESSAGE_TYPE = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.2");
    static final ASN1ObjectIdentifier PKI_STATUS = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.3");
    static final ASN1ObjectIdentifier FAIL_INFO = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.4");
    static final ASN1ObjectIdentifier SENDER_NONCE = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.5");
    static final ASN1ObjectIdentifier RECIPIENT_NONCE = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.6");
    static final ASN1ObjectIdentifier TRANSACTION_ID = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.7");

    private static final SecureRandom RANDOM = new SecureRandom();

    private BcScep() {
    }

    /** GetCACert at {@code scep} (the SCEP URL, RFC 8894 4.2.1.2): 200 and the certificates of its degenerate SignedData. */
    static List<X509Certificate> caRaCertificates(URI scep) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(scep + "?operation=GetCACert")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new AssertionError("GetCACert answered " + r.statusCode());
        }
        return certificates(r.body());
    }

    /** The RA certificate of GetCACert at {@code scep}: the one that is no CA. */
    static X509Certificate raCertificate(URI scep) throws Exception {
        return caRaCertificates(scep).stream().filter(c -> c.getBasicConstraints() < 0).findFirst()
                .orElseThrow(() -> new AssertionError("GetCACert holds no RA certificate"));
    }

    /** The certificates of a degenerate SignedData (GetCACert, GetCert). */
    static List<X509Certificate> certificates(byte[] degenerateSignedData) throws Exception {
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        List<X509Certificate> certs = new java.util.ArrayList<>();
        for (Object holder : new CMSSignedData(degenerateSignedData).getCertificates().getMatches(null)) {
            certs.add(converter.getCertificate((X509CertificateHolder) holder));
        }
        return certs;
    }

    /** RFC 8894 2.3: the self-signed certificate a device signs its PKCSReq with, for its new key. */
    static X509Certificate selfSigned(KeyPair keys, String cn) throws Exception {
        X500Name name = new X500Name("CN=" + cn);
        Instant now = Instant.now();
        return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(RANDOM.nextInt(1 << 30)),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), name, keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
    }

    static byte[] nonce() {
        byte[] n = new byte[16];
        RANDOM.nextBytes(n);
        return n;
    }

    /**
     * A pkiMessage of {@code messageType} (19 = PKCSReq): {@code content} enveloped to {@code recipient}
     * with AES-128-CBC, signed by {@code signingKey} under {@code signer} with SHA-256.
     */
    static byte[] request(String messageType, byte[] content, X509Certificate recipient, X509Certificate signer, PrivateKey signingKey,
                          String transactionId, byte[] senderNonce) throws Exception {
        return request(messageType, content, CMSAlgorithm.AES128_CBC, recipient, signer, signingKey, transactionId, senderNonce);
    }

    /** As above, with the envelope's content encrypted with {@code cipher} (e.g. CMSAlgorithm.DES_EDE3_CBC). */
    static byte[] request(String messageType, byte[] content, ASN1ObjectIdentifier cipher, X509Certificate recipient,
                          X509Certificate signer, PrivateKey signingKey, String transactionId, byte[] senderNonce) throws Exception {
        return request(messageType, content, cipher, "SHA256withRSA", Instant.now(), recipient, signer, signingKey, transactionId, senderNonce);
    }

    /**
     * As above, signed with {@code signatureAlgorithm} (e.g. SHA1withRSA) and with {@code signingTime}
     * as the CMS signingTime attribute (Bouncy Castle adds one of now when it is not given).
     */
    static byte[] request(String messageType, byte[] content, ASN1ObjectIdentifier cipher, String signatureAlgorithm, Instant signingTime,
                          X509Certificate recipient, X509Certificate signer, PrivateKey signingKey, String transactionId,
                          byte[] senderNonce) throws Exception {
        CMSEnvelopedDataGenerator envelope = new CMSEnvelopedDataGenerator();
        envelope.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(recipient));
        byte[] enveloped = envelope.generate(new CMSProcessableByteArray(content),
                new JceCMSContentEncryptorBuilder(cipher).build()).getEncoded();
        Hashtable<ASN1ObjectIdentifier, Attribute> attributes = new Hashtable<>();
        attributes.put(MESSAGE_TYPE, new Attribute(MESSAGE_TYPE, new DERSet(new DERPrintableString(messageType))));
        attributes.put(TRANSACTION_ID, new Attribute(TRANSACTION_ID, new DERSet(new DERPrintableString(transactionId))));
        attributes.put(SENDER_NONCE, new Attribute(SENDER_NONCE, new DERSet(new DEROctetString(senderNonce))));
        attributes.put(CMSAttributes.signingTime, new Attribute(CMSAttributes.signingTime, new DERSet(new Time(Date.from(signingTime)))));
        CMSSignedDataGenerator signed = new CMSSignedDataGenerator();
        signed.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder().build())
                .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(new AttributeTable(attributes)))
                .build(new JcaContentSignerBuilder(signatureAlgorithm).build(signingKey), signer));
        signed.addCertificate(new JcaX509CertificateHolder(signer));
        return signed.generate(new CMSProcessableByteArray(enveloped), true).getEncoded();
    }

    /** RFC 8894 3.3.3: the content of a CertPoll, IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }. */
    static byte[] issuerAndSubject(X509Certificate issuer, String subject) throws Exception {
        return new DERSequence(new ASN1Encodable[] {X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
                new X500Name(subject)}).getEncoded();
    }

    /** RFC 8894 3.3.4: the content of GetCert and GetCRL, IssuerAndSerialNumber. */
    static byte[] issuerAndSerialNumber(X509Certificate issuer, BigInteger serial) throws Exception {
        return new IssuerAndSerialNumber(X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()), serial).getEncoded();
    }

    /** A CertRep as the client reads it, after checking its signature under the RA certificate. */
    record CertRep(String messageType, String pkiStatus, String failInfo, String transactionId, byte[] recipientNonce,
                   CMSSignedData signedData) {

        static CertRep read(byte[] der, X509Certificate ra) throws Exception {
            CMSSignedData signed = new CMSSignedData(der);
            Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();
            if (signers.size() != 1) {
                throw new AssertionError("CertRep has " + signers.size() + " signers");
            }
            SignerInformation signer = signers.iterator().next();
            if (!signer.verify(new JcaSimpleSignerInfoVerifierBuilder().build(ra))) {
                throw new AssertionError("CertRep signature does not verify under the RA certificate");
            }
            AttributeTable a = signer.getSignedAttributes();
            return new CertRep(printable(a, MESSAGE_TYPE), printable(a, PKI_STATUS), printable(a, FAIL_INFO), printable(a, TRANSACTION_ID),
                    a.get(RECIPIENT_NONCE) == null ? null
                            : ASN1OctetString.getInstance(a.get(RECIPIENT_NONCE).getAttrValues().getObjectAt(0)).getOctets(),
                    signed);
        }

        /** SUCCESS: the certificate in the pkcsPKIEnvelope, decrypted with the device's key. */
        X509Certificate certificate(PrivateKey deviceKey) throws Exception {
            Collection<X509CertificateHolder> certs = degenerate(deviceKey).getCertificates().getMatches(null);
            if (certs.size() != 1) {
                throw new AssertionError("the envelope holds " + certs.size() + " certificates");
            }
            return new JcaX509CertificateConverter().getCertificate(certs.iterator().next());
        }

        /** SUCCESS of GetCRL (RFC 8894 3.3.4): the one CRL in the pkcsPKIEnvelope, decrypted with the device's key. */
        X509CRLHolder crl(PrivateKey deviceKey) throws Exception {
            CMSSignedData crlsOnly = degenerate(deviceKey);
            Collection<X509CRLHolder> crls = crlsOnly.getCRLs().getMatches(null);
            if (crls.size() != 1 || !crlsOnly.getCertificates().getMatches(null).isEmpty()) {
                throw new AssertionError("the envelope holds " + crls.size() + " CRLs and some certificates");
            }
            return crls.iterator().next();
        }

        /** The degenerate SignedData in the pkcsPKIEnvelope. */
        private CMSSignedData degenerate(PrivateKey deviceKey) throws Exception {
            CMSEnvelopedData envelope = new CMSEnvelopedData((byte[]) signedData.getSignedContent().getContent());
            return new CMSSignedData(envelope.getRecipientInfos().getRecipients().iterator().next()
                    .getContent(new JceKeyTransEnvelopedRecipient(deviceKey)));
        }

        private static String printable(AttributeTable a, ASN1ObjectIdentifier type) {
            Attribute attribute = a.get(type);
            return attribute == null ? null : ((ASN1PrintableString) attribute.getAttrValues().getObjectAt(0)).getString();
        }
    }
}
