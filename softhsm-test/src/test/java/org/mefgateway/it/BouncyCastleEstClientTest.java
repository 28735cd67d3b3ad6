package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.CSRRequestResponse;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.policy.Oids;

/**
 * Interoperability with an EST client we did not write: Bouncy Castle's {@code org.bouncycastle.est}
 * (RFC 7030), authenticating with the device's bootstrap certificate in TLS only (TS-0003
 * 8.3.6.2.1 forbids HTTP authentication, so no {@code ESTAuth} is ever passed).
 */
class BouncyCastleEstClientTest {
    static DeviceMaker maker;
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker BC CA");
        mef = TestGateway.start(maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    private ESTService est(DeviceMaker.Device device) throws Exception {
        return device == null ? BcEst.client(mef, null, null, null)
                : BcEst.client(mef, device.keyStore(), DeviceMaker.Device.PASSWORD, null);
    }

    @Test
    void bcGetCaCertsReturnsExactlyTheGatewayCaCertificateOverAnonymousTls() throws Exception {
        CACertsResponse response = est(null).getCACerts();

        assertTrue(response.hasCertificates());
        assertTrue(response.isTrusted(), "the TLS server was validated against the configured anchor");
        X509CertificateHolder[] certs = ESTService.storeToArray(response.getCertificateStore());
        assertEquals(1, certs.length);
        assertArrayEquals(mef.caCertificate.getEncoded(), certs[0].getEncoded());
        // BC reports an (empty) CRL store whenever the SignedData parsed; the gateway sends no CRLs.
        assertTrue(!response.hasCRLs() || response.getCrlStore().getMatches(null).isEmpty());
    }

    @Test
    void bcGetCsrAttributesWithBootstrapCertificateReturnsChallengeKeyTypeAndRegisteredIdentity() throws Exception {
        DeviceMaker.Device device = maker.device("bc-attrs-0001");
        String aeId = "//m2m.example.com/CSE3219/C-BC-ATTRS";
        mef.register(device, "bc-attrs", "AE-ID", aeId, 40, 43);

        CSRRequestResponse response = est(device).getCSRAttributes();

        assertTrue(response.hasAttributesResponse());
        var attributes = response.getAttributesResponse();
        assertTrue(attributes.hasRequirement(new ASN1ObjectIdentifier(Oids.ECDSA_WITH_SHA256)));
        assertFalse(attributes.isAttribute(new ASN1ObjectIdentifier(Oids.ECDSA_WITH_SHA256)), "an OID, not an Attribute");
        assertTrue(attributes.isAttribute(new ASN1ObjectIdentifier(Oids.EC_PUBLIC_KEY)));
        assertTrue(attributes.isAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword));
        assertTrue(attributes.isAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest));

        CsrAttrs parsed = CsrAttrs.getInstance(attributes.getEncoded());
        assertEquals(Oids.SECP256R1, attribute(parsed, Oids.EC_PUBLIC_KEY).getAttrValues().getObjectAt(0).toString());
        ASN1Set challenge = attribute(parsed, Oids.CHALLENGE_PASSWORD).getAttrValues();
        assertEquals(1, challenge.size());
        assertTrue(challenge.getObjectAt(0) instanceof DERPrintableString, challenge.getObjectAt(0).getClass().getName());
        assertTrue(challenge.getObjectAt(0).toString().matches("[0-9a-f]{32}"), challenge.getObjectAt(0).toString());

        Extensions requested = Extensions.getInstance(attribute(parsed, Oids.EXTENSION_REQUEST).getAttrValues().getObjectAt(0));
        assertEquals(new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, aeId)),
                GeneralNames.fromExtensions(requested, Extension.subjectAlternativeName));
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".40", Oids.SUID_EKU_ARC + ".43"), ekus(requested));
    }

    @Test
    void bcClientEnrolsWithItsOwnCsrAndGetsACaSignedCertificateWithRegisteredSanAndSuidEkusRecordedInLedger() throws Exception {
        DeviceMaker.Device device = maker.device("bc-enrol-0002");
        String aeId = "//m2m.example.com/CSE3219/C-BC-ENROL";
        mef.register(device, "bc-enrol", "AE-ID", aeId, 40, 44);
        ESTService est = est(device);

        // Step 4-5: the challenge, through BC.
        CsrAttrs attrs = CsrAttrs.getInstance(est.getCSRAttributes().getAttributesResponse().getEncoded());
        ASN1Encodable challenge = attribute(attrs, Oids.CHALLENGE_PASSWORD).getAttrValues().getObjectAt(0);

        // Step 6-7: a P-256 key and a CSR built by BC's PKCS#10 builder, not by our Enrolee.
        KeyPair keys = DeviceMaker.ecKeys();
        ExtensionsGenerator ext = new ExtensionsGenerator();
        ext.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, aeId)));
        ext.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
                KeyPurposeId.getInstance(new ASN1ObjectIdentifier(Oids.SUID_EKU_ARC + ".40")),
                KeyPurposeId.getInstance(new ASN1ObjectIdentifier(Oids.SUID_EKU_ARC + ".44"))}));
        PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + aeId), keys.getPublic())
                .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, challenge)
                .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));

        EnrollmentResponse response = est.simpleEnroll(false, csr, null);

        assertTrue(response.isCompleted(), "issued at once, no 202 retry");
        X509CertificateHolder[] holders = ESTService.storeToArray(response.getStore());
        assertEquals(1, holders.length);
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(holders[0]);
        cert.verify(mef.caCertificate.getPublicKey());
        assertEquals(mef.caCertificate.getSubjectX500Principal(), cert.getIssuerX500Principal());
        assertEquals(keys.getPublic(), cert.getPublicKey());
        assertEquals(List.of(List.of(GeneralName.uniformResourceIdentifier, aeId)), EnrolmentProcedureTest.sans(cert));
        assertEquals(List.of(Oids.SUID_EKU_ARC + ".40", Oids.SUID_EKU_ARC + ".44"), cert.getExtendedKeyUsage());

        IssuedCertificate recorded = mef.issued().stream()
                .filter(c -> c.serialHex().equals(cert.getSerialNumber().toString(16))).findFirst().orElseThrow();
        assertArrayEquals(cert.getEncoded(), recorded.der());
        assertEquals("bc-enrol", recorded.enroleeId());
    }

    private static Attribute attribute(CsrAttrs attrs, String oid) {
        Attribute found = null;
        for (AttrOrOID a : attrs.getAttrOrOIDs()) {
            if (a.isOid()) {
                continue;
            }
            if (a.getAttribute().getAttrType().getId().equals(oid)) {
                assertEquals(null, found, "attribute " + oid + " appears twice");
                found = a.getAttribute();
            }
        }
        assertNotNull(found, "csrattrs has no attribute " + oid);
        return found;
    }

    private static List<String> ekus(Extensions extensions) {
        ExtendedKeyUsage eku = ExtendedKeyUsage.fromExtensions(extensions);
        List<String> out = new ArrayList<>();
        if (eku != null) {
            for (KeyPurposeId id : eku.getUsages()) {
                out.add(id.getId());
            }
        }
        return out;
    }
}
