package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;

import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class VerifierTest {
    private static final String AE_ID = "//m2m.example.com/CSE3219/C9886";
    private static final GeneralNames REQUESTED = CertSubjectType.AE_ID.subjectAltName(AE_ID);

    private static TestPki mefCa;
    private static TestPki otherCa;
    private static KeyPair enroleeKeys;

    @BeforeAll
    static void pki() throws Exception {
        mefCa = TestPki.ca("MEF Test CA");
        otherCa = TestPki.ca("Other CA");
        enroleeKeys = Csr.generateKeyPair();
    }

    @Test
    void acceptsACertificateIssuedByTheInstalledAnchorAndReturnsTheChain() throws Exception {
        X509Certificate issued = mefCa.issue(enroleeKeys.getPublic(), AE_ID, REQUESTED, KeyUsage.digitalSignature,
                KeyPurposeId.id_kp_clientAuth);

        List<X509Certificate> chain = verify(issued, List.of(issued, mefCa.certificate), List.of(mefCa.certificate));

        assertEquals(List.of(issued, mefCa.certificate), chain);
    }

    @Test
    void acceptsAReturnedIntermediateAndExtraIdentifiersAddedByTheMef() throws Exception {
        TestPki issuing = mefCa.subordinate("MEF Issuing CA");
        GeneralNames withExtra = new GeneralNames(new GeneralName[] {
                REQUESTED.getNames()[0], new GeneralName(GeneralName.dNSName, "dev-1.example.com")});
        X509Certificate issued = issuing.issue(enroleeKeys.getPublic(), AE_ID, withExtra, KeyUsage.digitalSignature);

        List<X509Certificate> chain = verify(issued, List.of(issuing.certificate, issued), List.of(mefCa.certificate));

        assertEquals(List.of(issued, issuing.certificate, mefCa.certificate), chain);
    }

    @Test
    void rejectsACertificateFromAnotherCa() throws Exception {
        X509Certificate issued = otherCa.issue(enroleeKeys.getPublic(), AE_ID, REQUESTED, KeyUsage.digitalSignature);

        assertFailure("does not chain to the installed trust anchors",
                () -> verify(issued, List.of(issued), List.of(mefCa.certificate)));
    }

    @Test
    void rejectsACertificateFromAnImpostorWithTheAnchorsName() throws Exception {
        TestPki impostor = TestPki.ca("MEF Test CA");
        X509Certificate issued = impostor.issue(enroleeKeys.getPublic(), AE_ID, REQUESTED, KeyUsage.digitalSignature);

        assertFailure("does not validate to the installed trust anchors",
                () -> verify(issued, List.of(issued), List.of(mefCa.certificate)));
    }

    @Test
    void rejectsACertificateForAnotherKey() throws Exception {
        X509Certificate issued = mefCa.issue(Csr.generateKeyPair().getPublic(), AE_ID, REQUESTED, KeyUsage.digitalSignature);

        assertFailure("different public key", () -> verify(issued, List.of(issued), List.of(mefCa.certificate)));
    }

    @Test
    void rejectsACertificateForAnotherIdentity() throws Exception {
        X509Certificate issued = mefCa.issue(enroleeKeys.getPublic(), AE_ID,
                CertSubjectType.AE_ID.subjectAltName("//m2m.example.com/CSE3219/C0000"), KeyUsage.digitalSignature);

        assertFailure("lacks the requested URI://m2m.example.com/CSE3219/C9886",
                () -> verify(issued, List.of(issued), List.of(mefCa.certificate)));
    }

    @Test
    void rejectsACertificateWithoutDigitalSignature() throws Exception {
        X509Certificate issued = mefCa.issue(enroleeKeys.getPublic(), AE_ID, REQUESTED, KeyUsage.keyAgreement);

        assertFailure("lacks digitalSignature", () -> verify(issued, List.of(issued), List.of(mefCa.certificate)));
    }

    @Test
    void picksTheOneEndEntityCertificateOfTheAnswer() throws Exception {
        X509Certificate issued = mefCa.issue(enroleeKeys.getPublic(), AE_ID, REQUESTED, KeyUsage.digitalSignature);

        assertEquals(issued, Verifier.issuedCertificate(List.of(mefCa.certificate, issued)));
        assertFailure("0 end-entity certificates", () -> Verifier.issuedCertificate(List.of(mefCa.certificate)));
    }

    @Test
    void acceptsCaCertificatesThatFormAHierarchyAsTrustAnchors() throws Exception {
        TestPki issuing = mefCa.subordinate("MEF Issuing CA");
        List<X509Certificate> returned = List.of(issuing.certificate, mefCa.certificate);

        assertEquals(returned, Verifier.trustAnchors(returned));
    }

    @Test
    void rejectsTrustAnchorsThatAreNotCasOrDoNotChainToAReturnedRoot() throws Exception {
        X509Certificate endEntity = mefCa.issue(enroleeKeys.getPublic(), AE_ID, REQUESTED, KeyUsage.digitalSignature);
        assertFailure("is not a CA certificate", () -> Verifier.trustAnchors(List.of(mefCa.certificate, endEntity)));

        TestPki orphan = otherCa.subordinate("Orphan CA");
        assertFailure("neither self-signed nor signed by another returned CA certificate",
                () -> Verifier.trustAnchors(List.of(mefCa.certificate, orphan.certificate)));
        assertFailure("no CA certificate", () -> Verifier.trustAnchors(List.of()));
    }

    private static List<X509Certificate> verify(X509Certificate issued, List<X509Certificate> returned,
                                                List<X509Certificate> anchors) throws EnrolmentException {
        return Verifier.verifyIssued(issued, returned, anchors, enroleeKeys.getPublic(), REQUESTED);
    }

    private static void assertFailure(String expected, org.junit.jupiter.api.function.Executable check) {
        EnrolmentException e = assertThrows(EnrolmentException.class, check);
        assertEquals(Failure.VERIFICATION, e.failure());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
