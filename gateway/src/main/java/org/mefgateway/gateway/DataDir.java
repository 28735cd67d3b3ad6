package org.mefgateway.gateway;

import java.nio.file.Path;

/**
 * The layout of the data directory ({@code var/} by default): everything the gateway creates
 * and keeps. The CA private key is not here: it lives on the token.
 */
public record DataDir(Path root) {
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
}
