package org.mefgateway.it;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** CSRs built by the tests with Bouncy Castle, independently of the Enrolee library. */
public final class TestCsr {
    private KeyPair keys;
    private String subject = "";
    private String challenge;
    private final List<GeneralName> sans = new ArrayList<>();
    private final List<String> ekus = new ArrayList<>();
    private boolean requestCa;

    public static TestCsr p256() throws Exception {
        return new TestCsr().keys(keys("EC", new ECGenParameterSpec("secp256r1")));
    }

    public static KeyPair keys(String algorithm, java.security.spec.AlgorithmParameterSpec spec) throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance(algorithm);
        kpg.initialize(spec);
        return kpg.generateKeyPair();
    }

    public TestCsr keys(KeyPair keys) {
        this.keys = keys;
        return this;
    }

    public TestCsr subject(String dn) {
        this.subject = dn;
        return this;
    }

    public TestCsr challenge(String challenge) {
        this.challenge = challenge;
        return this;
    }

    public TestCsr uri(String uri) {
        sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
        return this;
    }

    public TestCsr dns(String name) {
        sans.add(new GeneralName(GeneralName.dNSName, name));
        return this;
    }

    public TestCsr eku(String oid) {
        ekus.add(oid);
        return this;
    }

    public TestCsr ca() {
        this.requestCa = true;
        return this;
    }

    public byte[] der() throws Exception {
        JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), keys.getPublic());
        if (challenge != null) {
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERPrintableString(challenge));
        }
        ExtensionsGenerator ext = new ExtensionsGenerator();
        if (!sans.isEmpty()) {
            ext.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
        }
        if (!ekus.isEmpty()) {
            ext.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    ekus.stream().map(o -> KeyPurposeId.getInstance(new ASN1ObjectIdentifier(o))).toArray(KeyPurposeId[]::new)));
        }
        if (requestCa) {
            ext.addExtension(Extension.basicConstraints, true, new org.bouncycastle.asn1.x509.BasicConstraints(true));
        }
        if (!ext.isEmpty()) {
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
        }
        // SHA-256 for every curve, so that a P-384 key meets the key rule, not the algorithm rule.
        String algorithm = keys.getPublic() instanceof ECPublicKey ? "SHA256withECDSA" : "SHA256withRSA";
        return b.build(new JcaContentSignerBuilder(algorithm).build(keys.getPrivate())).getEncoded();
    }

    public String base64() throws Exception {
        return Base64.getMimeEncoder().encodeToString(der());
    }

    /** The challengePassword value in a csrattrs response body (base64 of SEQUENCE OF AttrOrOID). */
    public static String challengeFrom(String csrattrsBody) {
        byte[] der = Base64.getMimeDecoder().decode(csrattrsBody);
        for (AttrOrOID a : CsrAttrs.getInstance(ASN1Sequence.getInstance(der)).getAttrOrOIDs()) {
            if (!a.isOid() && a.getAttribute().getAttrType().equals(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
                ASN1Encodable value = a.getAttribute().getAttrValues().getObjectAt(0);
                return value.toString();
            }
        }
        throw new IllegalStateException("no challengePassword in csrattrs");
    }
}
