package org.mefgateway.gateway;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The layout of the data directory ({@code var/} by default): everything the gateway creates
 * and keeps. The CA private key is not here: it lives on the token.
 */
public record DataDir(Path root) {
    private static final Logger LOG = LoggerFactory.getLogger(DataDir.class);
    private static final Set<PosixFilePermission> OWNER_DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");

    /** H2 database files (enrolees, challenges, the certificate ledger, CRLs, the audit log), unless store.jdbcUrl is set. */
    public Path database() {
        return root.resolve("db").resolve("mef");
    }

    /** The CA certificate, PEM: what operators hand to Enrolees as the explicit trust anchor. */
    public Path caCertificate() {
        return root.resolve("ca").resolve("ca.pem");
    }

    /** PKCS#12 with the TLS server key and its chain (the key is a software key, the CA signed it). */
    public Path tlsServerKeyStore() {
        return root.resolve("tls").resolve("server.p12");
    }

    public Path tlsServerPassword() {
        return root.resolve("tls").resolve("server.pass");
    }

    /** PKCS#12 of the operator credential that {@code mefgate admin} presents to the admin listener. */
    public Path operatorKeyStore() {
        return root.resolve("admin").resolve("operator.p12");
    }

    public Path operatorPassword() {
        return root.resolve("admin").resolve("operator.pass");
    }

    /** Operator certificates (PEM) the admin listener accepts: pinned, one file each. */
    public Path operatorsDir() {
        return root.resolve("admin").resolve("operators");
    }

    /** Written when the gateway listens: the bound ports (useful when configured as 0). */
    public Path portsFile() {
        return root.resolve("run").resolve("ports");
    }

    /**
     * Makes the data directory owner-only: every directory 0700, every file 0600 (symbolic links
     * are left alone). It holds the ledger, the audit log, bootstrap fingerprints and held CSRs
     * (the H2 database), the log and exports, none of them for other local users; H2 and Java
     * create files with the process umask, and the JVM cannot set one. {@code init} and every
     * start apply it, so files an older version or a looser umask left are corrected too; the ops
     * scripts also run with umask 077, so files created between two starts are born owner-only.
     * A path that cannot be changed (another owner) is logged, not fatal.
     */
    public void restrictToOwner() throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        List<Path> changed = new ArrayList<>();
        Files.walkFileTree(root.toRealPath(), new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                restrict(dir, OWNER_DIRECTORY);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile()) {
                    restrict(file, OWNER_FILE);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                // Gone meanwhile (an H2 temporary file), or unreadable: nothing to restrict.
                return FileVisitResult.CONTINUE;
            }

            private void restrict(Path path, Set<PosixFilePermission> wanted) {
                try {
                    if (!Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS).equals(wanted)) {
                        Files.setPosixFilePermissions(path, wanted);
                        changed.add(path);
                    }
                } catch (IOException e) {
                    LOG.warn("cannot make {} owner-only ({}): other local users may read it", path, e.toString());
                }
            }
        });
        if (!changed.isEmpty()) {
            LOG.info("made {} paths under {} owner-only (directories 0700, files 0600), e.g. {}", changed.size(), root,
                    changed.get(changed.size() - 1));
        }
    }
}
