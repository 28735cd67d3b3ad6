package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.mefgateway.hsm.CaKey;
import org.mefgateway.hsm.CaKeyConfig;
import org.mefgateway.hsm.CaSigner;
import org.mefgateway.hsm.HsmException;
import org.mefgateway.hsm.Pkcs11Token;

/** The CA key is made inside a real SoftHSM2 token, cannot leave it, and signs correctly. */
class CaKeyOnTokenTest {
    static SoftHsm hsm;
    static X509Certificate caCert;

    @BeforeAll
    static void createCa() throws Exception {
        hsm = SoftHsm.fresh("ca-key-test");
        try (Pkcs11Token token = Pkcs11Token.open(hsm.config("mef-ca"))) {
            caCert = token.createSelfSignedCa("CN=Test MEF CA,O=MEF Gateway", Duration.ofDays(30)).certificate();
        }
    }

    @Test
    void selfSignedRootIsACaCertificateSignedByTheTokenKey() throws Exception {
        caCert.verify(caCert.getPublicKey());
        assertEquals(caCert.getSubjectX500Principal(), caCert.getIssuerX500Principal());
        assertTrue(caCert.getBasicConstraints() >= 0, "basicConstraints CA=true");
        assertTrue(caCert.getKeyUsage()[5], "keyCertSign");
        assertEquals("EC", caCert.getPublicKey().getAlgorithm());
    }

    @Test
    void keyIsFoundAgainByLabelAfterReopeningTheToken() throws Exception {
        try (Pkcs11Token token = Pkcs11Token.open(hsm.config("mef-ca"))) {
            CaKey key = token.caKey();
            assertEquals(caCert, key.certificate());
            assertEquals(List.of("mef-ca"), token.keyLabels());
        }
    }

    @Test
    void privateKeyValueCannotBeReadThroughJava() throws Exception {
        try (Pkcs11Token token = Pkcs11Token.open(hsm.config("mef-ca"))) {
            CaKey key = token.caKey();
            assertNull(key.privateKey().getEncoded(), "a sensitive token key has no encoding");
            String description = key.privateKey().toString();
            assertTrue(description.contains("token object"), description);
            assertTrue(description.contains("sensitive"), description);
            assertTrue(description.contains("unextractable"), description);
        }
    }

    /** An independent tool (OpenSC's pkcs11-tool) reads the key's PKCS#11 attributes from the token. */
    @Test
    void tokenReportsThePrivateKeySensitiveAndNeverExtractable() throws Exception {
        String objects = SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(),
                "--token-label", hsm.tokenLabel, "--login", "--pin", hsm.pin(), "--list-objects", "--type", "privkey"));
        assertTrue(objects.contains("label:      mef-ca"), objects);
        String access = objects.lines().filter(l -> l.strip().startsWith("Access:")).findFirst().orElse("");
        assertTrue(access.contains("sensitive"), objects);
        assertTrue(access.contains("always sensitive"), objects);
        assertTrue(access.contains("never extractable"), objects);
        assertTrue(access.contains("local"), "generated on the token: " + objects);
        String usage = objects.lines().filter(l -> l.strip().startsWith("Usage:")).findFirst().orElse("");
        assertEquals("sign", usage.substring(usage.indexOf(':') + 1).strip(), "the CA key may only sign: " + objects);
    }

    @Test
    void creatingASecondCaKeyWithTheSameLabelIsRefused() throws Exception {
        try (Pkcs11Token token = Pkcs11Token.open(hsm.config("mef-ca"))) {
            HsmException e = assertThrows(HsmException.class, () -> token.createSelfSignedCa("CN=Other", Duration.ofDays(1)));
            assertTrue(e.getMessage().contains("already has a CA key"), e.getMessage());
        }
    }

    @Test
    void pooledSignerSignaturesVerifyWithTheCaPublicKeyUnderConcurrency() throws Exception {
        try (CaSigner signer = CaSigner.open(new CaKeyConfig(CaKeyConfig.DEFAULT, List.of(hsm.config("mef-ca"))),
                new SimpleMeterRegistry())) {
            List<byte[]> messages = new ArrayList<>();
            List<CompletableFuture<byte[]>> signatures = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                byte[] message = ("tbs-" + i).getBytes(StandardCharsets.UTF_8);
                messages.add(message);
                signatures.add(signer.sign(message).toCompletableFuture());
            }
            for (int i = 0; i < messages.size(); i++) {
                Signature verify = Signature.getInstance("SHA256withECDSA");
                verify.initVerify(caCert.getPublicKey());
                verify.update(messages.get(i));
                assertTrue(verify.verify(signatures.get(i).get(10, TimeUnit.SECONDS)), "signature " + i);
            }
        }
    }

    @Test
    void wrongTokenLabelNamesTheTokensThatExist() {
        HsmException e = assertThrows(HsmException.class, () -> Pkcs11Token.open(
                new org.mefgateway.hsm.HsmConfig(SoftHsm.LIBRARY, "no-such-token", "mef-ca",
                        java.util.Optional.empty(), java.util.Optional.of(hsm.pinFile), 1, 1)));
        assertTrue(e.getMessage().contains("no token labelled 'no-such-token'"), e.getMessage());
        assertTrue(e.getMessage().contains("ca-key-test"), e.getMessage());
    }
}
