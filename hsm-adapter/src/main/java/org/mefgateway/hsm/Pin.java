package org.mefgateway.hsm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Reads the token user PIN from an environment variable or a file. The PIN never travels through
 * the command line (visible in /proc) and is never logged; errors name only where it was looked for.
 */
final class Pin {
    private Pin() {
    }

    static char[] read(HsmConfig config) throws HsmException {
        if (config.pinEnv().isPresent()) {
            String name = config.pinEnv().get();
            String value = System.getenv(name);
            if (value == null || value.isEmpty()) {
                throw new HsmException("the HSM PIN environment variable " + name + " is not set");
            }
            return value.toCharArray();
        }
        return fromFile(config.pinFile().orElseThrow());
    }

    private static char[] fromFile(Path file) throws HsmException {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                throw new HsmException("refusing the HSM PIN file " + file + ": it is readable by others (chmod 600 it)");
            }
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
            if (text.isEmpty()) {
                throw new HsmException("the HSM PIN file " + file + " is empty");
            }
            return text.toCharArray();
        } catch (UnsupportedOperationException e) {
            throw new HsmException("cannot check the permissions of the HSM PIN file " + file);
        } catch (IOException e) {
            throw new HsmException("cannot read the HSM PIN file " + file + ": " + e.getClass().getSimpleName());
        }
    }
}
