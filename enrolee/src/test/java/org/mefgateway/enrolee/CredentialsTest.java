package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;

import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialsTest {
    @TempDir
    Path directory;

    @Test
    void writesKeyWithChainAndAnchorsAndReadsThemBack() throws Exception {
        TestPki ca = TestPki.ca("MEF Test CA");
        KeyPair keys = Csr.generateKeyPair();
        X509Certificate issued = ca.issue(keys.getPublic(), "dev-1",
                CertSubjectType.AE_ID.subjectAltName("//m2m.example.com/CSE3219/C9886"), KeyUsage.digitalSignature);
        Path file = directory.resolve("out.p12");

        new Credentials(keys.getPrivate(), List.of(issued, ca.certificate), List.of(ca.certificate))
                .write(file, "out-pass".toCharArray());

        Credentials read = Credentials.read(file, "out-pass".toCharArray());
        assertEquals(keys.getPrivate(), read.privateKey());
        assertEquals(List.of(issued, ca.certificate), read.chain());
        assertEquals(List.of(ca.certificate), read.trustAnchors());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        KeyStore store = Credentials.loadPkcs12(file, "out-pass".toCharArray());
        assertEquals(List.of("anchor-0", "enrolee"), java.util.Collections.list(store.aliases()).stream().sorted().toList());
        try (var files = Files.list(directory)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void reportsAWrongPassword() throws Exception {
        TestPki ca = TestPki.ca("MEF Test CA");
        KeyPair keys = Csr.generateKeyPair();
        Path file = directory.resolve("out.p12");
        new Credentials(keys.getPrivate(), List.of(ca.certificate), List.of()).write(file, "right".toCharArray());

        IOException e = assertThrows(IOException.class, () -> Credentials.read(file, "wrong".toCharArray()));
        assertTrue(e.getMessage().contains("wrong password"), e.getMessage());
    }
}
