package org.mefgateway.gateway.scep;

import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Collection;
import java.util.Hashtable;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1PrintableString;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cms.CMSAbsentContent;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.CMSTypedData;
import org.bouncycastle.cms.DefaultSignedAttributeTableGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.mefgateway.gateway.core.ErrorCode;
import org.mefgateway.gateway.core.OperationException;
import org.mefgateway.gateway.est.EstWire;
import org.mefgateway.hsm.RaKey;

/** The SCEP message format (RFC 8894 3): reading a request's SignedData, writing CertRep. */
final class ScepWire {
    static final String CA_RA_CERT = "application/x-x509-ca-ra-cert";
    static final String PKI_MESSAGE = "application/x-pki-message";

    // RFC 8894 3.2.1: the SCEP signed attributes, under id-VeriSign 2.16.840.1.113733.1.9.
    static final ASN1ObjectIdentifier MESSAGE_TYPE = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.2");
    static final ASN1ObjectIdentifier PKI_STATUS = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.3");
    static final ASN1ObjectIdentifier FAIL_INFO = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.4");
    static final ASN1ObjectIdentifier SENDER_NONCE = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.5");
    static final ASN1ObjectIdentifier RECIPIENT_NONCE = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.6");
    static final ASN1ObjectIdentifier TRANSACTION_ID = new ASN1ObjectIdentifier("2.16.840.1.113733.1.9.7");

    /** RFC 8894 3.2.1.3: pkiStatus values. */
    static final String SUCCESS = "0";
    static final String FAILURE = "2";
    static final String PENDING = "3";

    /**
     * The digests GetCACaps advertises; no MD5 or SHA-1 (RFC 8894 3.5.2). SHA-384 is advertised
     * too: strongSwan pki 5.9.8 reads the capabilities such that it takes neither SHA-256 nor AES
     * from a list without SHA-384 (its issue #1607), and falls back to what we refuse.
     */
    static final Set<ASN1ObjectIdentifier> DIGESTS = Set.of(NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha384,
            NISTObjectIdentifiers.id_sha512);
    /** AES-CBC, advertised as "AES"; no DES or 3DES (RFC 8894 3.5.2). */
    static final Set<ASN1ObjectIdentifier> CONTENT_CIPHERS = Set.of(NISTObjectIdentifiers.id_aes128_CBC,
            NISTObjectIdentifiers.id_aes192_CBC, NISTObjectIdentifiers.id_aes256_CBC);
    /**
     * With the operator's legacy switch on, also what older clients can only do (RFC 8894 3.5.2:
     * "DES3", "SHA-1"): 3DES-CBC envelopes and SHA-1 digests. Never single DES or MD5, which are broken.
     */
    static final Set<ASN1ObjectIdentifier> LEGACY_DIGESTS = Set.of(NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha384,
            NISTObjectIdentifiers.id_sha512, OIWObjectIdentifiers.idSHA1);
    static final Set<ASN1ObjectIdentifier> LEGACY_CONTENT_CIPHERS = Set.of(NISTObjectIdentifiers.id_aes128_CBC,
            NISTObjectIdentifiers.id_aes192_CBC, NISTObjectIdentifiers.id_aes256_CBC, PKCSObjectIdentifiers.des_EDE3_CBC);

    /** Longest transactionID accepted (the store keeps it for CertPoll). */
    static final int MAX_TRANSACTION_ID = 256;

    private static final Provider BC = new BouncyCastleProvider();
    private static final SecureRandom RANDOM = new SecureRandom();

    private ScepWire() {
    }

    /** RFC 8894 4.2.1.2: the RA certificate and the CA certificate in a degenerate SignedData. */
    static byte[] caRaCertificates(X509Certificate ra, List<X509Certificate> caChain) {
        List<byte[]> ders = new java.util.ArrayList<>();
        ders.add(EstWire.der(ra));
        caChain.forEach(c -> ders.add(EstWire.der(c)));
        return EstWire.certsOnly(ders);
    }

    /**
     * Reads a pkiMessage (RFC 8894 3.2): one signer, its certificate carried in the message, the
     * signed attributes transactionID, messageType and senderNonce. What is not that is a 400: with
     * no signer certificate or no transactionID there is nobody a CertRep could answer.
     */
    static PkiMessage read(byte[] der) {
        try {
            CMSSignedData signed = new CMSSignedData(der);
            Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();
            if (signers.size() != 1) {
                throw badRequest("a pkiMessage has exactly one signer (RFC 8894 3.2), this one has " + signers.size());
            }
            SignerInformation signer = signers.iterator().next();
            @SuppressWarnings("unchecked")
            Collection<X509CertificateHolder> certs = signed.getCertificates().getMatches(signer.getSID());
            if (certs.isEmpty()) {
                throw badRequest("the pkiMessage does not carry its signer's certificate (RFC 8894 3.2)");
            }
            X509CertificateHolder signerCert = certs.iterator().next();
            AttributeTable attributes = signer.getSignedAttributes();
            if (attributes == null) {
                throw badRequest("the pkiMessage has no signed attributes (RFC 8894 3.2.1)");
            }
            String transactionId = printable(attributes, TRANSACTION_ID, "transactionID");
            if (transactionId.isEmpty() || transactionId.length() > MAX_TRANSACTION_ID) {
                // RFC 8894 3.2.1.1 sets no length; clients send a hash of the key (hex or base64), far shorter.
                throw badRequest("the transactionID has " + transactionId.length() + " characters: 1 to " + MAX_TRANSACTION_ID
                        + " are accepted (RFC 8894 3.2.1.1)");
            }
            String messageType = printable(attributes, MESSAGE_TYPE, "messageType");
            byte[] senderNonce = octets(attributes, SENDER_NONCE, "senderNonce");
            return new PkiMessage(MessageType.of(messageType), transactionId, senderNonce,
                    new JcaX509CertificateConverter().getCertificate(signerCert), verifies(signer, signerCert), signer, signed);
        } catch (CMSException | java.security.cert.CertificateException | RuntimeException e) {
            if (e instanceof OperationException o) {
                throw o;
            }
            throw badRequest("the body is not a CMS SignedData pkiMessage (RFC 8894 3.2): " + e.getMessage());
        }
    }

    /**
     * RFC 8894 3.3.3: a CertPoll's content is IssuerAndSubject, SEQUENCE { issuer Name, subject
     * Name }. It is only checked to be one: the transaction is found by its key and transactionID.
     */
    static void issuerAndSubject(byte[] content) {
        try {
            ASN1Sequence sequence = ASN1Sequence.getInstance(content);
            if (sequence.size() != 2) {
                throw new IllegalArgumentException("not two Names");
            }
            X500Name.getInstance(sequence.getObjectAt(0));
            X500Name.getInstance(sequence.getObjectAt(1));
        } catch (RuntimeException e) {
            throw new ScepFailure(FailInfo.BAD_REQUEST, "a CertPoll's pkcsPKIEnvelope holds an IssuerAndSubject (RFC 8894 3.3.3)");
        }
    }

    /** RFC 8894 3.3.4: the content of GetCert and GetCRL, IssuerAndSerialNumber (RFC 5652 10.2.4). */
    static IssuerAndSerialNumber issuerAndSerialNumber(byte[] content) {
        try {
            return IssuerAndSerialNumber.getInstance(ASN1Sequence.getInstance(content));
        } catch (RuntimeException e) {
            throw new ScepFailure(FailInfo.BAD_REQUEST, "the pkcsPKIEnvelope of GetCert or GetCRL holds an IssuerAndSerialNumber "
                    + "(RFC 8894 3.3.4)");
        }
    }

    /** The DER of an ASN.1 object this gateway just parsed, so it encodes. */
    static byte[] der(ASN1Encodable object) {
        try {
            return object.toASN1Primitive().getEncoded(ASN1Encoding.DER);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a parsed ASN.1 object does not encode", e);
        }
    }

    /** RFC 8894 3.5.2: the message digest is one GetCACaps offers, else FAILURE badAlg. */
    static void checkDigest(PkiMessage message, boolean legacy) {
        if (!(legacy ? LEGACY_DIGESTS : DIGESTS).contains(message.signerInfo().getDigestAlgorithmID().getAlgorithm())) {
            throw new ScepFailure(FailInfo.BAD_ALG, "digest " + message.signerInfo().getDigestAlgOID()
                    + " is not accepted (GetCACaps: SHA-256, SHA-384, SHA-512" + (legacy ? ", SHA-1)" : ")"));
        }
    }

    /**
     * The CMS signingTime signed attribute (RFC 5652 11.3), which RFC 8894 3.2.1 allows and does not
     * require: empty when the message has none.
     */
    static Optional<Instant> signingTime(PkiMessage message) {
        Attribute attribute = message.signerInfo().getSignedAttributes().get(CMSAttributes.signingTime);
        if (attribute == null) {
            return Optional.empty();
        }
        try {
            if (attribute.getAttrValues().size() != 1) {
                throw new IllegalArgumentException("not one value");
            }
            return Optional.of(Time.getInstance(attribute.getAttrValues().getObjectAt(0)).getDate().toInstant());
        } catch (RuntimeException e) {
            throw new ScepFailure(FailInfo.BAD_TIME, "the signingTime attribute is not one UTCTime or GeneralizedTime (RFC 5652 11.3)");
        }
    }

    private static boolean verifies(SignerInformation signer, X509CertificateHolder cert) {
        try {
            return signer.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider(BC).build(cert));
        } catch (Exception e) {
            return false; // a signature that cannot be checked is one that does not verify
        }
    }

    /**
     * The pkcsPKIEnvelope the SignedData carries (RFC 8894 3.2.2), with AES-CBC content encryption,
     * or with {@code legacy} also 3DES-CBC.
     */
    static CMSEnvelopedData envelope(PkiMessage message, boolean legacy) {
        Object content = message.signedData().getSignedContent() == null ? null : message.signedData().getSignedContent().getContent();
        if (!(content instanceof byte[] bytes)) {
            throw new ScepFailure(FailInfo.BAD_REQUEST, "the pkiMessage carries no pkcsPKIEnvelope (RFC 8894 3.2.2)");
        }
        CMSEnvelopedData envelope;
        try {
            envelope = new CMSEnvelopedData(bytes);
        } catch (CMSException e) {
            throw new ScepFailure(FailInfo.BAD_REQUEST, "the pkcsPKIEnvelope is not a CMS EnvelopedData (RFC 8894 3.2.2)");
        }
        if (!(legacy ? LEGACY_CONTENT_CIPHERS : CONTENT_CIPHERS).contains(new ASN1ObjectIdentifier(envelope.getEncryptionAlgOID()))) {
            throw new ScepFailure(FailInfo.BAD_ALG, "the pkcsPKIEnvelope is encrypted with " + envelope.getEncryptionAlgOID()
                    + (legacy ? ": only AES-CBC and 3DES-CBC are accepted (GetCACaps: AES, DES3)" : ": only AES-CBC is accepted (GetCACaps: AES)"));
        }
        return envelope;
    }

    /**
     * CertRep (RFC 8894 3.3.2), signed with the RA key on the token: messageType 3, the request's
     * transactionID, its senderNonce as recipientNonce, a fresh senderNonce, the pkiStatus and for a
     * FAILURE the failInfo. For SUCCESS the content is a pkcsPKIEnvelope, encrypted to the
     * requester's signer certificate, of a degenerate SignedData holding the issued certificate.
     */
    static byte[] certRep(RaKey ra, PkiMessage request, Reply reply) {
        try {
            Hashtable<ASN1ObjectIdentifier, Attribute> attributes = new Hashtable<>();
            put(attributes, MESSAGE_TYPE, new DERPrintableString(MessageType.CERT_REP.value()));
            put(attributes, TRANSACTION_ID, new DERPrintableString(request.transactionId()));
            put(attributes, RECIPIENT_NONCE, new DEROctetString(request.senderNonce()));
            byte[] nonce = new byte[16];
            RANDOM.nextBytes(nonce);
            put(attributes, SENDER_NONCE, new DEROctetString(nonce));
            CMSTypedData content = new CMSAbsentContent();
            if (reply instanceof Reply.Issued issued) {
                put(attributes, PKI_STATUS, new DERPrintableString(SUCCESS));
                content = new CMSProcessableByteArray(issuedEnvelope(issued.certificate(), request));
            } else if (reply instanceof Reply.Crl crl) {
                put(attributes, PKI_STATUS, new DERPrintableString(SUCCESS));
                content = new CMSProcessableByteArray(envelopeTo(request, crlOnly(crl.crl())));
            } else if (reply instanceof Reply.Failed failed) {
                put(attributes, PKI_STATUS, new DERPrintableString(FAILURE));
                put(attributes, FAIL_INFO, new DERPrintableString(failed.failInfo().value()));
            } else {
                put(attributes, PKI_STATUS, new DERPrintableString(PENDING));
            }
            CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
            // The SignerInfo names the signature algorithm rsaEncryption, as PKCS#7 did (RFC 5652 5.3
            // allows it, RFC 3370 3.2 says receivers accept it): strongSwan pki 5.9.8 refuses a CertRep
            // naming sha256WithRSAEncryption ("only RSA digest encryption supported").
            generator.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(new JcaDigestCalculatorProviderBuilder().setProvider(BC).build(),
                            signatureAlgorithm -> new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE))
                    .setSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(new AttributeTable(attributes)))
                    .build(ra.contentSigner(), ra.certificate()));
            generator.addCertificate(new JcaX509CertificateHolder(ra.certificate()));
            return generator.generate(content, true).getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException("cannot build CertRep: " + e.getMessage(), e);
        }
    }

    /**
     * The degenerate SignedData of the certificate, enveloped to the requester (RSA key transport):
     * AES-128-CBC, or 3DES-CBC for a request that came in a 3DES envelope (accepted only with the
     * legacy switch on): a client that encrypts with 3DES may have nothing else to decrypt with.
     */
    private static byte[] issuedEnvelope(byte[] certificate, PkiMessage request) throws Exception {
        return envelopeTo(request, EstWire.certsOnly(List.of(certificate)));
    }

    /** RFC 8894 3.3.2: {@code content} in a pkcsPKIEnvelope to the requester's signer certificate. */
    private static byte[] envelopeTo(PkiMessage request, byte[] content) throws Exception {
        CMSEnvelopedDataGenerator generator = new CMSEnvelopedDataGenerator();
        generator.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(request.signer()).setProvider(BC));
        ASN1ObjectIdentifier cipher = PKCSObjectIdentifiers.des_EDE3_CBC.getId().equals(envelope(request, true).getEncryptionAlgOID())
                ? CMSAlgorithm.DES_EDE3_CBC : CMSAlgorithm.AES128_CBC;
        return generator.generate(new CMSProcessableByteArray(content),
                new JceCMSContentEncryptorBuilder(cipher).setProvider(BC).build()).getEncoded();
    }

    /** RFC 8894 3.3.4: a CRL in a degenerate SignedData, as GetCRL answers it. */
    private static byte[] crlOnly(byte[] crl) throws Exception {
        CMSSignedDataGenerator generator = new CMSSignedDataGenerator();
        generator.addCRL(new X509CRLHolder(crl));
        return generator.generate(new CMSAbsentContent()).getEncoded(ASN1Encoding.DER);
    }

    private static void put(Hashtable<ASN1ObjectIdentifier, Attribute> attributes, ASN1ObjectIdentifier type, ASN1Encodable value) {
        attributes.put(type, new Attribute(type, new DERSet(value)));
    }

    private static String printable(AttributeTable attributes, ASN1ObjectIdentifier type, String name) {
        ASN1Encodable value = single(attributes, type, name);
        if (!(value instanceof ASN1PrintableString s)) {
            throw badRequest("the " + name + " attribute is not a PrintableString (RFC 8894 3.2.1)");
        }
        return s.getString();
    }

    private static byte[] octets(AttributeTable attributes, ASN1ObjectIdentifier type, String name) {
        ASN1Encodable value = single(attributes, type, name);
        if (!(value instanceof ASN1OctetString s) || s.getOctets().length != 16) {
            throw badRequest("the " + name + " attribute is not a 16-octet OCTET STRING (RFC 8894 3.2.1.5)");
        }
        return s.getOctets();
    }

    private static ASN1Encodable single(AttributeTable attributes, ASN1ObjectIdentifier type, String name) {
        Attribute attribute = attributes.get(type);
        if (attribute == null || attribute.getAttrValues().size() != 1) {
            throw badRequest("the pkiMessage has no single " + name + " signed attribute (RFC 8894 3.2.1)");
        }
        return attribute.getAttrValues().getObjectAt(0);
    }

    private static OperationException badRequest(String reason) {
        return OperationException.of(ErrorCode.BAD_REQUEST, reason);
    }

    /** What a CertRep answers. */
    sealed interface Reply {
        record Issued(byte[] certificate) implements Reply {
        }

        /** GetCRL: the CRL's DER. */
        record Crl(byte[] crl) implements Reply {
        }

        record Failed(FailInfo failInfo) implements Reply {
        }

        record Pending() implements Reply {
        }
    }
}
