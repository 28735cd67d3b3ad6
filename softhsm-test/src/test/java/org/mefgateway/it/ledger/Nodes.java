package org.mefgateway.it.ledger;

import io.vertx.core.json.Json;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.it.DeviceMaker;
import org.mefgateway.it.SoftHsm;
import org.mefgateway.it.TestGateway;

/** Configuration files for gateway nodes on one token, and the operator calls the tests make. */
final class Nodes {
    private Nodes() {
    }

    /**
     * A node's configuration: its own data directory (TLS and operator credentials, ports), the
     * shared token, the given store section, every listener on a free port.
     */
    static Path config(Path dir, String name, SoftHsm hsm, Path bootstrapTrust, String storeYaml) throws Exception {
        return config(dir, name, hsm, bootstrapTrust, storeYaml, "");
    }

    /** With more EST settings (YAML flow-mapping entries such as {@code "bodyTimeoutSeconds: 20"}). */
    static Path config(Path dir, String name, SoftHsm hsm, Path bootstrapTrust, String storeYaml, String estSettings) throws Exception {
        Path data = Files.createDirectories(dir.resolve(name));
        Path policies = Files.createDirectories(data.resolve("policies"));
        Files.writeString(policies.resolve("default.yaml"), TestGateway.DEFAULT_PROFILE);
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, String.join("\n",
                "dataDir: " + data,
                "est: {host: 127.0.0.1, port: 0, bootstrapTrustDir: " + bootstrapTrust + (estSettings.isEmpty() ? "" : ", " + estSettings) + "}",
                "admin: {host: 127.0.0.1, port: 0}",
                "publication: {host: 127.0.0.1, port: 0}",
                "hsm: {library: " + SoftHsm.LIBRARY + ", tokenLabel: " + hsm.tokenLabel + ", keyLabel: ca-p256, pinFile: " + hsm.pinFile + "}",
                "ca: {subject: 'CN=Test MEF Root CA,O=MEF Gateway Tests', validityDays: 30}",
                "policyDir: " + policies,
                storeYaml,
                ""));
        return file;
    }

    static Path trust(Path dir, DeviceMaker maker) throws Exception {
        Path trust = Files.createDirectories(dir.resolve("bootstrap-trust"));
        Pem.write(trust.resolve("maker.pem"), maker.caCertificate);
        return trust;
    }

    static void register(GatewayConfig node, DeviceMaker.Device device, String id, String aeId) throws Exception {
        String json = "{\"id\":\"" + id + "\",\"bootstrapCertificate\":" + Json.encode(Pem.encode(device.certificate()))
                + ",\"certSubjectType\":\"AE-ID\",\"certSubjectID\":\"" + aeId + "\",\"suids\":[40]}";
        HttpResponse<String> r = new AdminClient(node).postJson("/admin/enrolees", json);
        if (r.statusCode() != 201) {
            throw new IllegalStateException("registration refused: " + r.statusCode() + " " + r.body());
        }
    }
}
