package org.mefgateway.enrolee;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The Enrolee's installed credential: its private key with the certificate chain the MEF issued,
 * and the explicit trust anchor database (TS-0003 8.3.6.2.1), kept together in one PKCS#12 file.
 *
 * <p>Layout: private key entry {@value #KEY_ALIAS} with chain [issued certificate, CA certificate(s)];
 * trusted certificate entries {@code anchor-0}, {@code anchor-1}, ... for the trust anchors.
 *
 * @param privateKey   the Enrolee's private key
 * @param chain        issued certificate first, then its CA certificate(s)
 * @param trustAnchors the installed trust anchors
 */
public record Credentials(PrivateKey privateKey, List<X509Certificate> chain, List<X509Certificate> trustAnchors) {
    /** The alias of the private key entry. */
    public static final String KEY_ALIAS = "enrolee";
    private static final String ANCHOR_ALIAS_PREFIX = "anchor-";

    public Credentials {
        chain = List.copyOf(chain);
        trustAnchors = List.copyOf(trustAnchors);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a credential needs at least the issued certificate");
        }
    }

    /** The issued certificate. */
    public X509Certificate certificate() {
        return chain.get(0);
    }

    /**
     * Writes the PKCS#12 file. It is written next to its final place and moved there atomically,
     * so a crash never leaves a half-written key file; {@link Files#createTempFile} creates it
     * readable by the owner only (on POSIX), so no other user can read the key at any time.
     */
    public void write(Path file, char[] password) throws IOException {
        KeyStore store = keyStore(password);
        Path directory = file.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(directory, ".enrolee-", ".p12.tmp");
        try {
            store(store, temporary, file, password);
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
     * Replaces an existing PKCS#12 file (renewal): the new content is written to a temporary file in
     * the same directory, given the permissions of the existing file, and renamed over it with
     * {@link StandardCopyOption#ATOMIC_MOVE}. Readers see either the old or the new file, never a
     * mixture; if anything fails the old file is left untouched.
     *
     * @throws IOException if the file cannot be written or the file system cannot rename atomically
     */
    public void replace(Path file, char[] password) throws IOException {
        KeyStore store = keyStore(password);
        Path directory = file.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(directory, ".enrolee-", ".p12.tmp");
        try {
            store(store, temporary, file, password);
            if (Files.getFileStore(file).supportsFileAttributeView(PosixFileAttributeView.class)) {
                Files.setPosixFilePermissions(temporary, Files.getPosixFilePermissions(file));
            }
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + file + " atomically on this file system; it is unchanged", e);
            }
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    private KeyStore keyStore(char[] password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(KEY_ALIAS, privateKey, password, chain.toArray(new Certificate[0]));
            for (int i = 0; i < trustAnchors.size(); i++) {
                store.setCertificateEntry(ANCHOR_ALIAS_PREFIX + i, trustAnchors.get(i));
            }
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the PKCS#12 key store", e);
        }
    }

    private static void store(KeyStore store, Path temporary, Path file, char[] password) throws IOException {
        try (OutputStream out = Files.newOutputStream(temporary)) {
            store.store(out, password);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * A key store holding only the key entry, for use as the TLS client credential (re-enrolment
     * authenticates with the current certificate).
     */
    public KeyStore clientKeyStore(char[] password) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(KEY_ALIAS, privateKey, password, chain.toArray(new Certificate[0]));
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the TLS client key store", e);
        }
    }

    /**
     * Reads a file written by {@link #write(Path, char[])}.
     *
     * @throws IOException if it cannot be read, the password is wrong, or it lacks the key entry
     */
    public static Credentials read(Path file, char[] password) throws IOException {
        KeyStore store = loadPkcs12(file, password);
        try {
            Key key = store.getKey(KEY_ALIAS, password);
            Certificate[] chain = store.getCertificateChain(KEY_ALIAS);
            if (!(key instanceof PrivateKey privateKey) || chain == null) {
                throw new IOException(file + " has no private key entry \"" + KEY_ALIAS + "\"");
            }
            List<X509Certificate> anchors = new ArrayList<>();
            for (int i = 0; store.isCertificateEntry(ANCHOR_ALIAS_PREFIX + i); i++) {
                anchors.add((X509Certificate) store.getCertificate(ANCHOR_ALIAS_PREFIX + i));
            }
            List<X509Certificate> certificates = new ArrayList<>();
            for (Certificate certificate : chain) {
                certificates.add((X509Certificate) certificate);
            }
            return new Credentials(privateKey, certificates, anchors);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the key entry of " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads a PKCS#12 file, e.g. the bootstrap credential.
     *
     * @throws IOException if it cannot be read or the password is wrong
     */
    public static KeyStore loadPkcs12(Path file, char[] password) throws IOException {
        InputStream in = Files.newInputStream(file);
        try (in) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
            return store;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read PKCS#12 " + file + ": " + e.getMessage(), e);
        } catch (IOException e) {
            // The JDK reports a wrong PKCS#12 password as an IOException caused by UnrecoverableKeyException.
            String hint = e.getCause() instanceof UnrecoverableKeyException ? " (wrong password)" : "";
            throw new IOException("cannot read PKCS#12 " + file + hint + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads the X.509 certificates of a PEM file (one or more CERTIFICATE blocks).
     *
     * @throws IOException if it cannot be read or holds no certificate
     */
    public static List<X509Certificate> readPemCertificates(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> certificates = new ArrayList<>();
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                certificates.add((X509Certificate) certificate);
            }
            if (certificates.isEmpty()) {
                throw new IOException(file + " holds no certificate");
            }
            return Collections.unmodifiableList(certificates);
        } catch (CertificateException e) {
            throw new IOException("cannot read certificates from " + file + ": " + e.getMessage(), e);
        }
    }
}
