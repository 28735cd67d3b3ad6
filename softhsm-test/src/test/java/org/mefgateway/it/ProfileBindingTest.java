package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * Profiles are bound to Enrolees: a registration names the profiles (EST labels) an Enrolee may
 * use, the first being the one its CERT_PROV command points at; a request on any other label is
 * refused by rule {@code enrolee.label}. A renewal is decided by the profile that issued the
 * certificate being renewed, whichever label carries it, until the operator moves the Enrolee.
 */
class ProfileBindingTest {
    static DeviceMaker maker;
    static TestGateway mef;
    static AdminClient admin;
    static int n;

    @BeforeAll
    static void start() throws Exception {
        maker = DeviceMaker.create("Maker Binding CA");
        mef = TestGateway.start(Map.of(
                "default.yaml", "validity: {days: 7}\nreenrolment: {renewalWindowDays: 2}\n",
                "renew.yaml", "validity: {days: 7}\nreenrolment: {renewalWindowDays: 0}\n",
                "other.yaml", "validity: {days: 7}\n"), maker);
        admin = new AdminClient(mef.config);
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    record Registered(String id, String aeId, DeviceMaker.Device device, HttpClient client) {
    }

    static Registered register(List<String> profiles) throws Exception {
        int i = ++n;
        DeviceMaker.Device device = maker.device("bound-" + i);
        String aeId = "//m2m.example.com/CSE3219/C-BOUND-" + i;
        mef.register(device, "bound-" + i, "AE-ID", aeId, profiles, 40);
        return new Registered("bound-" + i, aeId, device, mef.client(device));
    }

    static HttpResponse<String> post(HttpClient client, String path, String csr) throws Exception {
        return TestGateway.post(client, mef.est(path), "application/pkcs10", csr);
    }

    static String csr(KeyPair keys, String aeId, String challenge) throws Exception {
        return TestCsr.p256().keys(keys).subject("CN=" + aeId).uri(aeId).challenge(challenge).base64();
    }

    @Test
    void aRequestOnALabelTheRegistrationDoesNotNameIsRefusedWithItsRule() throws Exception {
        Registered e = register(List.of("renew"));
        int issued = mef.issued().size();
        double deniedBefore = labelDenials();

        HttpResponse<String> attrs = TestGateway.get(e.client(), mef.est("/csrattrs"));
        HttpResponse<String> other = post(e.client(), "/other/simpleenroll", TestCsr.p256().subject("CN=" + e.aeId()).uri(e.aeId()).base64());
        HttpResponse<String> allowed = post(e.client(), "/renew/simpleenroll",
                csr(DeviceMaker.ecKeys(), e.aeId(), mef.challenge(e.client(), "/renew")));

        assertRefused(attrs, "enrolee.label", "default");
        assertTrue(attrs.body().contains("is registered for profile(s) [renew], not default: use /.well-known/est/renew/"), attrs.body());
        assertRefused(other, "enrolee.label", "other");
        assertEquals(200, allowed.statusCode(), allowed.body());
        assertEquals(issued + 1, mef.issued().size());
        assertEquals("renew", mef.issued().get(mef.issued().size() - 1).profile());
        assertEquals(deniedBefore + 2, labelDenials(), "each refusal counted under its rule");
    }

    static double labelDenials() {
        return mef.gateway.meters().find("mef.policy.decisions").tags("rule", "enrolee.label", "result", "deny").counters()
                .stream().mapToDouble(c -> c.count()).sum();
    }

    @Test
    void theMefCommandPointsAtTheLabelOfTheFirstProfile() throws Exception {
        Registered renew = register(List.of("renew", "default"));
        Registered plain = register(List.of("default"));

        JsonObject command = new JsonObject(TestGateway.get(renew.client(), mef.mefBase().resolve("/mef/command")).body());
        JsonObject plainCommand = new JsonObject(TestGateway.get(plain.client(), mef.mefBase().resolve("/mef/command")).body());

        assertEquals("https://127.0.0.1:" + mef.gateway.estPort() + "/.well-known/est/renew", command.getString("URI"));
        assertEquals("https://127.0.0.1:" + mef.gateway.estPort() + "/.well-known/est", plainCommand.getString("URI"));
    }

    @Test
    void aRenewalIsDecidedByTheProfileThatIssuedTheCertificateUntilTheOperatorMovesTheEnrolee() throws Exception {
        Registered e = register(List.of("default", "renew"));
        KeyPair keys = DeviceMaker.ecKeys();
        HttpResponse<String> first = post(e.client(), "/simpleenroll", csr(keys, e.aeId(), mef.challenge(e.client(), "")));
        assertEquals(200, first.statusCode(), first.body());
        HttpClient current = mef.client(keys, PolicyProfilesTest.certificate(first));

        // Issued under default (renewal opens 2 days before expiry): the label renew (any time) does not change that.
        HttpResponse<String> early = post(current, "/renew/simplereenroll", csr(DeviceMaker.ecKeys(), e.aeId(),
                mef.challenge(current, "/renew")));
        assertRefused(early, "reenrol.window", "default");

        HttpResponse<String> moved = admin.postJson("/admin/enrolees/" + e.id() + "/instruct", "{\"profiles\":[\"renew\"]}");
        assertEquals(200, moved.statusCode(), moved.body());
        HttpResponse<String> renewed = post(current, "/renew/simplereenroll", csr(DeviceMaker.ecKeys(), e.aeId(),
                mef.challenge(current, "/renew")));
        HttpResponse<String> viaDefault = post(current, "/simplereenroll", csr(DeviceMaker.ecKeys(), e.aeId(),
                mef.challenge(current, "/renew")));

        assertEquals(200, renewed.statusCode(), renewed.body());
        assertEquals("renew", mef.gateway.store().certificate(PolicyProfilesTest.certificate(renewed).getSerialNumber().toString(16))
                .orElseThrow().profile());
        assertRefused(viaDefault, "enrolee.label", "default");
    }

    @Test
    void aRegistrationWithoutProfilesMayUseTheDefaultProfileOnlyAndUnknownProfilesAreRefused() throws Exception {
        DeviceMaker.Device device = maker.device("bound-plain");
        String json = "{\"id\":\"bound-plain\",\"bootstrapCertificate\":" + io.vertx.core.json.Json.encode(Pem.encode(device.certificate()))
                + ",\"certSubjectType\":\"AE-ID\",\"certSubjectID\":\"//m2m.example.com/CSE3219/C-BOUND-PLAIN\",\"suids\":[40]}";
        HttpResponse<String> registered = admin.postJson("/admin/enrolees", json);
        HttpResponse<String> unknown = admin.postJson("/admin/enrolees", json.replace("bound-plain\"", "bound-unknown\"")
                .replace("\"suids\"", "\"profiles\":[\"nosuch\"],\"suids\""));
        HttpResponse<String> moveToUnknown = admin.postJson("/admin/enrolees/bound-plain/instruct", "{\"profiles\":[\"nosuch\"]}");

        assertEquals(201, registered.statusCode(), registered.body());
        assertEquals(new JsonArray().add("default"), new JsonObject(registered.body()).getJsonArray("profiles"));
        assertEquals(400, unknown.statusCode(), unknown.body());
        assertTrue(unknown.body().contains("profiles: 'nosuch' is not a profile this gateway serves; it serves [default, other, renew]"),
                unknown.body());
        assertEquals(400, moveToUnknown.statusCode(), moveToUnknown.body());
        assertRefused(TestGateway.get(mef.client(device), mef.est("/renew/csrattrs")), "enrolee.label", "renew");
    }

    static void assertRefused(HttpResponse<String> r, String rule, String profile) {
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("refused by rule " + rule + " of profile " + profile + ": "), r.body());
    }
}
