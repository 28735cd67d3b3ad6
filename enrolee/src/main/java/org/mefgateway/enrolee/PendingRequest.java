package org.mefgateway.enrolee;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.PasswordRecipient;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.bc.BcCMSContentEncryptorBuilder;
import org.bouncycastle.cms.bc.BcPasswordEnvelopedRecipient;
import org.bouncycastle.cms.bc.BcPasswordRecipientInfoGenerator;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * An enrolment or re-enrolment request the MEF has not answered with a certificate yet (202
 * Accepted, 503, 429, or a transport failure), kept so that a later run repeats <em>the very same
 * request</em> (same key, same CSR bytes, same single-use challenge, RFC 7030 4.2.3) instead of
 * generating a new key and wasting the challenge.
 *
 * <p>File: {@code <out>.pending} next to the PKCS#12 it is for, owner-only, written atomically.
 * Format: PEM {@code CMS} block holding a CMS EnvelopedData (RFC 5652) with one PasswordRecipientInfo
 * (RFC 3211: PBKDF2-HMAC-SHA256, 10 000 iterations as in the JDK's PKCS#12, random salt, AES-256 key wrap; content
 * AES-256-CBC), encrypted with the password of the PKCS#12. The plaintext is UTF-8 text:
 * <pre>
 * mef-enrolee-pending: 1
 * operation: /simpleenroll            (or /simplereenroll)
 * est: https://HOST:PORT/.well-known/est[/label]
 * renews-serial: HEX                  (re-enrolment only: serial of the certificate being renewed)
 * created: 2026-11-27T04:41:30Z
 * -----BEGIN PRIVATE KEY-----         (PKCS#8)
 * -----BEGIN CERTIFICATE REQUEST----- (the exact DER that was sent)
 * </pre>
 * For diagnosis, {@code openssl cms -decrypt -inform PEM -in OUT.p12.pending -pwri_password PASSWORD}
 * shows it (OpenSSL takes the password literally there, on the command line).
 */
final class PendingRequest {
    static final String SUFFIX = ".pending";
    /** As the JDK's PKCS#12 key protection: the pending file is as strong as the .p12 the key ends up in. */
    private static final int ITERATIONS = 10_000;
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)-----END \\1-----");

    private final String operation;
    private final String est;
    private final String renewsSerial;
    private final Instant created;
    private final KeyPair keyPair;
    private final byte[] csr;

    PendingRequest(String operation, String est, String renewsSerial, Instant created, KeyPair keyPair, byte[] csr) {
        this.operation = operation;
        this.est = est;
        this.renewsSerial = renewsSerial;
        this.created = created;
        this.keyPair = keyPair;
        this.csr = csr.clone();
    }

    /** Where the pending request for the PKCS#12 {@code out} is kept. */
    static Path fileFor(Path out) {
        return out.resolveSibling(out.getFileName() + SUFFIX);
    }

    String operation() {
        return operation;
    }

    String est() {
        return est;
    }

    /** The serial (hex) of the certificate being renewed, or null for a first enrolment. */
    String renewsSerial() {
        return renewsSerial;
    }

    Instant created() {
        return created;
    }

    KeyPair keyPair() {
        return keyPair;
    }

    byte[] csr() {
        return csr.clone();
    }

    /** The subjectAltName the CSR requests (the identity to verify the answer against). */
    GeneralNames requestedSubjectAltName() {
        PKCS10CertificationRequest request;
        try {
            request = new PKCS10CertificationRequest(csr);
        } catch (IOException e) {
            throw new IllegalStateException("the pending CSR was checked when read", e);
        }
        for (var attribute : request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            GeneralNames names = GeneralNames.fromExtensions(
                    Extensions.getInstance(attribute.getAttrValues().getObjectAt(0)), Extension.subjectAlternativeName);
            if (names != null) {
                return names;
            }
        }
        throw new IllegalStateException("the pending CSR requests no subjectAltName");
    }

    /** Writes the file atomically, readable by the owner only. */
    void write(Path file, char[] password) throws IOException {
        StringBuilder text = new StringBuilder();
        text.append("mef-enrolee-pending: 1\n");
        text.append("operation: ").append(operation).append('\n');
        text.append("est: ").append(est).append('\n');
        if (renewsSerial != null) {
            text.append("renews-serial: ").append(renewsSerial).append('\n');
        }
        text.append("created: ").append(created).append('\n');
        text.append(pem("PRIVATE KEY", keyPair.getPrivate().getEncoded()));
        text.append(pem("CERTIFICATE REQUEST", csr));
        byte[] envelope;
        try {
            byte[] salt = new byte[16];
            new SecureRandom().nextBytes(salt);
            CMSEnvelopedDataGenerator generator = new CMSEnvelopedDataGenerator();
            generator.addRecipientInfoGenerator(new BcPasswordRecipientInfoGenerator(CMSAlgorithm.AES256_CBC, password)
                    .setPasswordConversionScheme(PasswordRecipient.PKCS5_SCHEME2_UTF8)
                    .setPRF(PasswordRecipient.PRF.HMacSHA256)
                    .setSaltAndIterationCount(salt, ITERATIONS));
            // Bouncy Castle's lightweight API: RFC 3211 key wrap is not in the JDK, and the BC JCA
            // provider takes seconds to initialise on a small device.
            envelope = generator.generate(new CMSProcessableByteArray(text.toString().getBytes(StandardCharsets.UTF_8)),
                    new BcCMSContentEncryptorBuilder(CMSAlgorithm.AES256_CBC).build()).getEncoded();
        } catch (CMSException e) {
            throw new IllegalStateException("cannot encrypt the pending request", e);
        }
        Path temporary = Files.createTempFile(file.toAbsolutePath().getParent(), ".enrolee-", ".pending.tmp");
        try {
            try (OutputStream out = Files.newOutputStream(temporary)) {
                out.write(pem("CMS", envelope).getBytes(StandardCharsets.US_ASCII));
            }
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * Reads a file written by {@link #write(Path, char[])}.
     *
     * @throws IOException if it cannot be read, the password is wrong or the content is malformed
     */
    static PendingRequest read(Path file, char[] password) throws IOException {
        String text;
        try {
            List<byte[]> blocks = pemBlocks(Files.readString(file, StandardCharsets.US_ASCII), "CMS");
            if (blocks.size() != 1) {
                throw new IOException("pending request " + file + " holds no CMS block");
            }
            CMSEnvelopedData envelope = new CMSEnvelopedData(ContentInfo.getInstance(blocks.get(0)));
            Collection<RecipientInformation> recipients = envelope.getRecipientInfos().getRecipients();
            if (recipients.size() != 1) {
                throw new IOException("pending request " + file + " must have exactly one password recipient");
            }
            byte[] plain = recipients.iterator().next().getContent(new BcPasswordEnvelopedRecipient(password)
                    .setPasswordConversionScheme(PasswordRecipient.PKCS5_SCHEME2_UTF8));
            text = new String(plain, StandardCharsets.UTF_8);
        } catch (CMSException | RuntimeException e) {
            throw new IOException("cannot decrypt pending request " + file + " (wrong password?): " + e.getMessage(), e);
        }
        try {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String line : text.split("\n")) {
                if (line.startsWith("-----")) {
                    break;
                }
                int colon = line.indexOf(": ");
                if (colon > 0) {
                    fields.put(line.substring(0, colon), line.substring(colon + 2).trim());
                }
            }
            if (!"1".equals(fields.get("mef-enrolee-pending"))) {
                throw new IllegalArgumentException("unknown format version " + fields.get("mef-enrolee-pending"));
            }
            byte[] key = single(pemBlocks(text, "PRIVATE KEY"), "PRIVATE KEY");
            byte[] csr = single(pemBlocks(text, "CERTIFICATE REQUEST"), "CERTIFICATE REQUEST");
            PKCS10CertificationRequest request = new PKCS10CertificationRequest(csr);
            KeyFactory factory = KeyFactory.getInstance("EC");
            PublicKey publicKey = factory.generatePublic(new X509EncodedKeySpec(request.getSubjectPublicKeyInfo().getEncoded()));
            PrivateKey privateKey = factory.generatePrivate(new PKCS8EncodedKeySpec(key));
            return new PendingRequest(required(fields, "operation"), required(fields, "est"), fields.get("renews-serial"),
                    Instant.parse(required(fields, "created")), new KeyPair(publicKey, privateKey), csr);
        } catch (GeneralSecurityException | IOException | IllegalArgumentException | DateTimeParseException e) {
            throw new IOException("pending request " + file + " is malformed: " + e.getMessage(), e);
        }
    }

    private static String required(Map<String, String> fields, String name) {
        String value = fields.get(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("no \"" + name + "\"");
        }
        return value;
    }

    private static byte[] single(List<byte[]> blocks, String label) {
        if (blocks.size() != 1) {
            throw new IllegalArgumentException("expected one " + label + " block, found " + blocks.size());
        }
        return blocks.get(0);
    }

    private static List<byte[]> pemBlocks(String text, String label) {
        List<byte[]> blocks = new ArrayList<>();
        Matcher matcher = PEM.matcher(text);
        while (matcher.find()) {
            if (matcher.group(1).equals(label)) {
                blocks.add(Base64.getMimeDecoder().decode(matcher.group(2)));
            }
        }
        return blocks;
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }
}
