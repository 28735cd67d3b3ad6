package org.mefgateway.gateway.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.SubjectAltName;

/**
 * What a request asks for, as the MEF recognises a repeat of it: SHA-256 (hex) over the CSR's
 * public key, subject and subjectAltNames. A client retrying after a lost answer often builds and
 * signs its CSR again, and ECDSA signatures differ every time, so the DER's hash would take the
 * retry for a new request; the key and the names it asks for do not change.
 */
final class RequestKey {
    private RequestKey() {
    }

    static String of(CsrFacts csr) {
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            sha256.update(csr.subjectPublicKeyInfo());
            field(sha256, csr.subject());
            for (SubjectAltName san : csr.subjectAltNames()) {
                field(sha256, san.kind() + ":" + san.value());
            }
            return HexFormat.of().formatHex(sha256.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    /** Each field length-prefixed, so that no two different lists of names hash the same bytes. */
    private static void field(MessageDigest digest, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        digest.update(java.nio.ByteBuffer.allocate(4).putInt(bytes.length).array());
        digest.update(bytes);
    }
}
