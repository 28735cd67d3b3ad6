package org.mefgateway.gateway;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * Files that hold secrets (keystore passwords, software keys): created owner-only, and refused
 * when others can read them.
 */
public final class PrivateFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private PrivateFiles() {
    }

    public static void write(Path file, byte[] content) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(file, content, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** Creates a file with a fresh random password and returns it. */
    public static char[] newPassword(Path file) throws IOException {
        byte[] b = new byte[18];
        RANDOM.nextBytes(b);
        String password = HexFormat.of().formatHex(b);
        write(file, password.getBytes(StandardCharsets.US_ASCII));
        return password.toCharArray();
    }

    public static char[] readPassword(Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.contains(PosixFilePermission.OTHERS_READ)) {
            throw new IOException("refusing " + file + ": it is readable by others (chmod 600 it)");
        }
        return Files.readString(file, StandardCharsets.US_ASCII).strip().toCharArray();
    }
}
