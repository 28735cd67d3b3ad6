package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Gateway;

/**
 * A data directory made before SCEP has no RA key on its token: the gateway makes it (and has the
 * CA key certify it) when it starts, so GetCACert serves an RA certificate without a new init.
 */
class ScepRaKeyAtStartTest {

    @Test
    void aTokenWithoutAnRaKeyGetsOneWhenTheGatewayStarts() throws Exception {
        TestGateway mef = TestGateway.start();
        X509Certificate before = ra(mef.gateway.publicationPort());
        mef.gateway.close();
        // As before SCEP: the RA key and its certificate are not on the token.
        for (String type : List.of("privkey", "pubkey", "cert")) {
            SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(), "--token-label", mef.hsm.tokenLabel, "--login",
                    "--pin", mef.hsm.pin(), "--delete-object", "--type", type, "--label", "ca-p256-scep-ra"));
        }
        String left = SoftHsm.run(List.of("pkcs11-tool", "--module", SoftHsm.LIBRARY.toString(), "--token-label", mef.hsm.tokenLabel,
                "--login", "--pin", mef.hsm.pin(), "--list-objects"));
        assertFalse(left.contains("ca-p256-scep-ra"), left);

        try (Gateway restarted = Gateway.start(mef.config, mef.clock)) {
            X509Certificate after = ra(restarted.publicationPort());
            after.verify(mef.caCertificate.getPublicKey());
            assertEquals("CN=Test MEF Root CA SCEP RA", after.getSubjectX500Principal().getName());
            assertTrue(!after.getPublicKey().equals(before.getPublicKey()), "a new RA key, generated at this start");
        }
    }

    /** The RA certificate (the one that is not a CA certificate) GetCACert serves. */
    private static X509Certificate ra(int port) throws Exception {
        return BcScep.raCertificate(URI.create("http://127.0.0.1:" + port + "/scep"));
    }
}
