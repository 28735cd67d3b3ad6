package org.mefgateway.policy.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERBMPString;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.asn1.pkcs.CertificationRequestInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.MalformedCsrException;
import org.mefgateway.policy.Oids;

/**
 * {@code CsrParser.parse} gets the body of an unauthenticated request: whatever the bytes, it
 * returns {@link CsrFacts} or throws {@link MalformedCsrException} (a 400). Any other exception,
 * error or hang is a finding. Beyond that, what it returns must be something the rules can rely
 * on:
 * <ul>
 *   <li>the same bytes give the same answer (facts field by field, signatureValid included, or the
 *       same refusal);</li>
 *   <li>parse, encode, parse is stable: what parses is DER, so Bouncy Castle's re-encoding of it is
 *       the input byte for byte (one request, one byte form: the MEF recognises a repeat by the
 *       hash of its bytes); and a request rebuilt from the facts alone (the subject read back from
 *       its string as the CA reads it, the same key, extensions and challengePassword, no
 *       signature) parses to the same facts, except that its missing signature does not verify;</li>
 *   <li>the facts agree with each other: an EC key has a curve and nothing else has one, the
 *       names, EKUs and cA flag come from extensions that were requested, no extension is
 *       requested twice, and re-keying the facts with their own key changes nothing.</li>
 * </ul>
 * {@code mvn verify} runs the kept inputs in {@code CsrParserFuzzTestInputs/parse/};
 * {@code ops/fuzz} fuzzes.
 */
class CsrParserFuzzTest {

    @Timeout(10)
    @FuzzTest
    void parse(byte[] der) {
        CsrFacts facts;
        try {
            facts = CsrParser.parse(der);
        } catch (MalformedCsrException refused) {
            assertNotNull(refused.getMessage(), "a refusal carries a reason for the client");
            assertFalse(refused.getMessage().isBlank(), "a refusal carries a reason for the client");
            MalformedCsrException again = assertThrowsMalformed(der.clone(), "the same bytes are refused again");
            assertEquals(refused.getMessage(), again.getMessage(), "the same bytes are refused for the same reason");
            return;
        }
        // Everything the rules read must be there: a null here would surface as a 500 later.
        assertNotNull(facts.keyAlgorithm());
        assertNotNull(facts.subject());
        assertNotNull(facts.signatureAlgorithmOid());
        assertNotNull(facts.challengePassword());

        // The re-encoding is the input byte for byte, so parsing it is also the second parse of the
        // same bytes (determinism) without a third signature verification.
        reencodedIsTheInput(der, Described.facts(facts));
        consistent(facts);
        rebuiltFromFactsParsesToTheSameFacts(facts);
    }

    /** Bouncy Castle's DER of what was parsed is the input itself, and parses to the same facts. */
    private static void reencodedIsTheInput(byte[] der, String described) {
        byte[] reencoded;
        try {
            reencoded = CertificationRequest.getInstance(der).getEncoded(ASN1Encoding.DER);
        } catch (IOException | RuntimeException e) {
            throw new AssertionError("a request the parser accepted cannot be re-encoded", e);
        }
        assertArrayEquals(der, reencoded, "a request the parser accepted is DER: its re-encoding is the input");
        assertEquals(described, Described.facts(parsed(reencoded, "the re-encoded request parses")),
                "the same bytes give the same facts (signatureValid included)");
    }

    private static void consistent(CsrFacts facts) {
        assertEquals(facts.keyAlgorithm().equals("EC"), facts.ecCurve().isPresent(),
                "an EC key, and only an EC key, names a curve: " + facts.keyAlgorithm() + " " + facts.ecCurve());
        assertTrue(facts.keySizeBits() >= 0, "key size " + facts.keySizeBits());
        Set<String> oids = new HashSet<>();
        for (CsrFacts.RequestedExtension e : facts.requestedExtensions()) {
            assertTrue(oids.add(e.oid()), "extension " + e.oid() + " requested twice");
        }
        assertTrue(facts.subjectAltNames().isEmpty() || oids.contains(Oids.SUBJECT_ALT_NAME), "names without subjectAltName");
        assertTrue(facts.requestedEkus().isEmpty() || oids.contains(Oids.EXTENDED_KEY_USAGE), "EKUs without extendedKeyUsage");
        assertTrue(!facts.requestsCa() || oids.contains(Oids.BASIC_CONSTRAINTS), "cA=TRUE without basicConstraints");
        try {
            // serverkeygen re-keys the facts; with the CSR's own key that must be the identity.
            assertEquals(Described.facts(facts), Described.facts(facts.withSubjectPublicKey(facts.subjectPublicKeyInfo())),
                    "re-keying with the request's own key changes nothing");
        } catch (MalformedCsrException e) {
            throw new AssertionError("the key of a parsed request must be readable again", e);
        }
    }

    /**
     * A request built from nothing but the facts: the subject read back from its string (as the
     * CA does with {@code new X500Name(subject)}), the same key, the requested extensions byte for
     * byte, the challengePassword (as a BMPString, which holds any Java string exactly), the
     * signature algorithm without parameters and an empty signature.
     */
    private static void rebuiltFromFactsParsesToTheSameFacts(CsrFacts facts) {
        X500Name subject;
        try {
            subject = new X500Name(BCStyle.INSTANCE, facts.subject());
        } catch (RuntimeException e) {
            throw new AssertionError("the subject string of a parsed request does not read back: " + facts.subject(), e);
        }
        ASN1EncodableVector attributes = new ASN1EncodableVector();
        facts.challengePassword().ifPresent(p -> attributes.add(
                new Attribute(new ASN1ObjectIdentifier(Oids.CHALLENGE_PASSWORD), new DERSet(new DERBMPString(p)))));
        if (!facts.requestedExtensions().isEmpty()) {
            ASN1EncodableVector extensions = new ASN1EncodableVector();
            for (CsrFacts.RequestedExtension e : facts.requestedExtensions()) {
                extensions.add(new Extension(new ASN1ObjectIdentifier(e.oid()), e.critical(), new DEROctetString(e.value())));
            }
            attributes.add(new Attribute(new ASN1ObjectIdentifier(Oids.EXTENSION_REQUEST), new DERSet(new DERSequence(extensions))));
        }
        CertificationRequestInfo info = new CertificationRequestInfo(subject,
                SubjectPublicKeyInfo.getInstance(facts.subjectPublicKeyInfo()), new DERSet(attributes));
        byte[] rebuilt;
        try {
            rebuilt = new CertificationRequest(info, new AlgorithmIdentifier(new ASN1ObjectIdentifier(facts.signatureAlgorithmOid())),
                    new DERBitString(new byte[0])).getEncoded(ASN1Encoding.DER);
        } catch (IOException e) {
            throw new AssertionError("the rebuilt request cannot be encoded", e);
        }
        CsrFacts again = parsed(rebuilt, "the request rebuilt from the facts parses");
        assertFalse(again.signatureValid(), "an unsigned request never proves possession");
        CsrFacts expected = new CsrFacts(facts.subjectPublicKeyInfo(), facts.keyAlgorithm(), facts.ecCurve(), facts.keySizeBits(),
                facts.signatureAlgorithmOid(), false, facts.subject(), facts.subjectAltNames(), facts.requestedEkus(),
                facts.requestedExtensions(), facts.requestsCa(), facts.challengePassword());
        assertEquals(Described.facts(expected), Described.facts(again), "parse, encode from the facts, parse is stable");
    }

    private static CsrFacts parsed(byte[] der, String what) {
        try {
            return CsrParser.parse(der);
        } catch (MalformedCsrException e) {
            throw new AssertionError(what + ", but was refused: " + e.getMessage(), e);
        }
    }

    private static MalformedCsrException assertThrowsMalformed(byte[] der, String what) {
        try {
            CsrParser.parse(der);
        } catch (MalformedCsrException e) {
            return e;
        }
        throw new AssertionError(what + ", but it parsed");
    }
}
