package org.mefgateway.gateway.admin;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.mefgateway.gateway.DataDir;
import org.mefgateway.gateway.GatewayConfig;
import org.mefgateway.gateway.Pem;
import org.mefgateway.gateway.TlsMaterial;

/**
 * What {@code mefgate admin} uses to talk to the running gateway. Operator commands go over the
 * admin API rather than to the database file: the embedded H2 database belongs to one process.
 */
public final class AdminClient {
    private final HttpClient http;
    private final URI base;

    public AdminClient(GatewayConfig config) throws IOException, GeneralSecurityException {
        DataDir data = config.dataDir();
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(TlsMaterial.keyManagers(data.operatorKeyStore(), data.operatorPassword()).getKeyManagers(),
                TlsMaterial.trustManagers(Pem.read(data.caCertificate())).getTrustManagers(), null);
        SSLParameters params = new SSLParameters();
        params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        this.http = HttpClient.newBuilder().sslContext(tls).sslParameters(params).connectTimeout(Duration.ofSeconds(10)).build();
        this.base = URI.create("https://" + config.admin().host() + ":" + adminPort(config));
    }

    /** The configured port, or the one the running gateway wrote down when configured as 0. */
    private static int adminPort(GatewayConfig config) throws IOException {
        if (config.admin().port() != 0) {
            return config.admin().port();
        }
        for (String line : Files.readAllLines(config.dataDir().portsFile())) {
            if (line.startsWith("admin=")) {
                return Integer.parseInt(line.substring("admin=".length()).strip());
            }
        }
        throw new IOException("no admin port in " + config.dataDir().portsFile());
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> delete(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> postJson(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
