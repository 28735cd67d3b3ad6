package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.store.IssuedCertificate;
import org.mefgateway.policy.Oids;

/**
 * The operator's SCEP instruction end to end (TS-0003 8.3.6.3, 8.3.9.7): a registration with
 * certProvProtocolID SCEP answers the SCEP URI and a challengePassword, and a PKCSReq to that URI
 * carrying that challenge gets the Enrolee its certificate, in the ledger, its command spent.
 */
class ScepInstructionTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("scep-instruction-maker");
        mef = TestGateway.start(Map.of("default.yaml", TestGateway.DEFAULT_PROFILE, "scep.yaml", ScepTest.SCEP_PROFILE), maker);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    @Test
    void aDeviceRegisteredForScepEnrolsThereWithTheChallengeTheRegistrationPrinted() throws Exception {
        DeviceMaker.Device device = maker.device("scep-registered");
        String aeId = "//m2m.example.com/scep-registered";
        HttpResponse<String> r = new AdminClient(mef.config).postJson("/admin/enrolees", new JsonObject().put("id", "scep-registered")
                .put("bootstrapCertificate", Pem.encode(device.certificate())).put("certSubjectType", "AE-ID").put("certSubjectID", aeId)
                .put("suids", List.of(40)).put("profiles", List.of("scep")).put("certProvProtocolID", "SCEP").encode());
        assertEquals(201, r.statusCode(), r.body());
        JsonObject registered = new JsonObject(r.body());
        URI scep = URI.create(registered.getString("URI"));
        assertEquals(mef.publicationBase().resolve("/scep"), scep);
        X509Certificate ra = raCertificate(scep);
        KeyPair keys = TestCsr.keys("RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4));
        byte[] csr = new TestCsr().keys(keys).subject("CN=" + aeId).challenge(registered.getString("challenge")).uri(aeId)
                .eku(Oids.SUID_EKU_ARC + ".40").der();

        HttpResponse<byte[]> answer = HTTP.send(HttpRequest.newBuilder(URI.create(scep + "?operation=PKIOperation"))
                .header("Content-Type", "application/x-pki-message").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(BcScep.request("19", csr, ra, BcScep.selfSigned(keys, "scep-registered"),
                        keys.getPrivate(), UUID.randomUUID().toString(), BcScep.nonce()))).build(), HttpResponse.BodyHandlers.ofByteArray());

        assertEquals(200, answer.statusCode());
        BcScep.CertRep rep = BcScep.CertRep.read(answer.body(), ra);
        assertEquals("0", rep.pkiStatus(), "SUCCESS, failInfo " + rep.failInfo());
        X509Certificate issued = rep.certificate(keys.getPrivate());
        issued.verify(mef.caCertificate.getPublicKey());
        IssuedCertificate row = mef.issued().stream().filter(c -> c.serialHex().equalsIgnoreCase(issued.getSerialNumber().toString(16)))
                .findFirst().orElseThrow(() -> new AssertionError("not in the ledger"));
        assertEquals("scep-registered", row.enroleeId());
        assertEquals("scep", row.profile());
        JsonObject command = new JsonObject(TestGateway.get(mef.client(device), mef.mefBase().resolve("/mef/command")).body());
        assertEquals("NO_MORE_COMMANDS", command.getString("command"), command.encode());
    }

    /** The RA certificate of GetCACert (RFC 8894 4.2.1.2): the one that is no CA. */
    private static X509Certificate raCertificate(URI scep) throws Exception {
        return BcScep.raCertificate(scep);
    }
}
