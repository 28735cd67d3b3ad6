package org.mefgateway.gatling;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.bodyBytes;
import static io.gatling.javaapi.core.CoreDsl.bodyString;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.header;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import io.gatling.javaapi.http.HttpRequestActionBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.est.AttrOrOID;
import org.bouncycastle.asn1.est.CsrAttrs;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Load test of the MEF's EST enrolment with Gatling. Every virtual user is one device with its own
 * bootstrap credential (made and registered in advance by ops/gatling/run: user-N.p12, the
 * Enrolee's AE-ID in user-N.id, and for the throughput scenario a CSR built in advance in
 * user-N.csr), presented through a per-user KeyManagerFactory, so every user opens its own TLS
 * connection with its own client certificate and keeps it for its csrattrs and simpleenroll
 * (Gatling's default: connections per virtual user, not shared; TLS on OpenSSL, gatling.conf).
 * The credentials are loaded before the injection starts: a PKCS#12 (PBKDF2) load per arriving
 * user cost the shared cores more than the enrolment it preceded. Each device enrols once, as in
 * a roll-out (the operator's instruction is one certificate per bootstrap credential), and like a
 * device repeats a request the MEF answered 503 (at capacity) after its Retry-After; those 503s
 * are counted and printed at the end, and are not failures (a 503 without Retry-After is).
 *
 * <ul>
 * <li>{@code procedure}: the real procedure: GET csrattrs (a single-use challenge), a P-256 key and
 *     a PKCS#10 CSR with that challengePassword built with Bouncy Castle in the virtual user,
 *     POST simpleenroll, certificate checked for a 200 and a body;</li>
 * <li>{@code throughput}: only POST simpleenroll with the CSR built in advance, to the profile
 *     {@code tput} (label /.well-known/est/tput/) that does not require a challenge.</li>
 * </ul>
 * System properties: mef.base (https://127.0.0.1:PORT), mef.credentials (directory),
 * mef.users (users per scenario), mef.rampSeconds, mef.scenario (both, procedure, throughput).
 */
public class EnrolmentSimulation extends Simulation {
    static final String SUID_40_EKU = "2.25.318609125702178136709414221712267757771.1.40";
    static final char[] PASSWORD = "bench".toCharArray();

    final String base = System.getProperty("mef.base", "https://127.0.0.1:8443");
    final Path credentials = Path.of(System.getProperty("mef.credentials", "target/gatling-credentials"));
    final int users = Integer.getInteger("mef.users", 400);
    final int rampSeconds = Integer.getInteger("mef.rampSeconds", 20);
    final String which = System.getProperty("mef.scenario", "both");
    final int available = countCredentials();
    /** Every credential's key managers, loaded in advance (index as {@link #index}). */
    final KeyManagerFactory[] keyManagers = loadKeyManagers();
    /** 503 answers with Retry-After, each followed by the device's repeat after it. */
    static final AtomicLong SHED = new AtomicLong();

    int countCredentials() {
        try (var files = Files.list(credentials)) {
            return (int) files.filter(p -> p.getFileName().toString().endsWith(".p12")).count();
        } catch (IOException e) {
            throw new UncheckedIOException("no credentials in " + credentials + " (ops/gatling/run prepares them)", e);
        }
    }

    /** The credential of virtual user {@code userId} (Gatling numbers users from 1). */
    int index(long userId) {
        return (int) Math.floorMod(userId - 1, (long) available);
    }

    KeyManagerFactory[] loadKeyManagers() {
        KeyManagerFactory[] all = new KeyManagerFactory[available];
        for (int i = 0; i < available; i++) {
            try {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(new ByteArrayInputStream(Files.readAllBytes(credentials.resolve("user-" + i + ".p12"))), PASSWORD);
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, PASSWORD);
                all[i] = kmf;
            } catch (Exception e) {
                throw new IllegalStateException("credential user-" + i + ".p12", e);
            }
        }
        return all;
    }

    KeyManagerFactory keyManagers(long userId) {
        return keyManagers[index(userId)];
    }

    /**
     * {@code request}, repeated after Retry-After while the MEF answers 503, as a device does: the
     * request fails on any status but 200 and 503, and on a 503 without Retry-After.
     */
    static ChainBuilder retryingOn503(HttpRequestActionBuilder request) {
        return exec(session -> session.set("status", 503))
                .asLongAs(session -> !session.isFailed() && session.getInt("status") == 503).on(
                        exec(session -> session.remove("retryAfter"))
                                .exec(request
                                        .check(status().saveAs("status"), status().in(200, 503))
                                        .checkIf((response, session) -> response.status().code() == 503)
                                        .then(header("Retry-After").saveAs("retryAfter")))
                                .doIf(session -> !session.isFailed() && session.getInt("status") == 503).then(
                                        exec(session -> {
                                            SHED.incrementAndGet();
                                            return session;
                                        }).pause(session -> Duration.ofSeconds(Long.parseLong(session.getString("retryAfter"))))));
    }

    String read(long userId, String ext) {
        try {
            return Files.readString(credentials.resolve("user-" + index(userId) + "." + ext), StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // Gatling's default trust manager accepts any server certificate (a load tool, not a client
    // to protect); the bootstrap client certificate is what the MEF checks.
    final HttpProtocolBuilder protocol = http.baseUrl(base)
            .perUserKeyManagerFactory(this::keyManagers)
            .disableWarmUp()
            .disableCaching()
            .acceptHeader("*/*");

    final ScenarioBuilder procedure = scenario("procedure: csrattrs + CSR + simpleenroll")
            .exec(session -> session.set("aeId", read(session.userId(), "id")))
            .exec(retryingOn503(http("csrattrs").get("/.well-known/est/csrattrs")
                    .check(bodyString().saveAs("csrattrs"))))
            .exitHereIfFailed()
            .exec(session -> session.set("csr", csr(session.getString("aeId"), challengeFrom(session.getString("csrattrs")))))
            .exec(retryingOn503(http("simpleenroll").post("/.well-known/est/simpleenroll")
                    .header("Content-Type", "application/pkcs10")
                    .body(StringBody("#{csr}"))
                    .check(header("Content-Type").exists(), bodyBytes().exists())));

    final ScenarioBuilder throughput = scenario("throughput: simpleenroll with CSRs built in advance")
            .exec(session -> session.set("csr", read(session.userId(), "csr")))
            .exec(retryingOn503(http("simpleenroll (pre-built CSR)").post("/.well-known/est/tput/simpleenroll")
                    .header("Content-Type", "application/pkcs10")
                    .body(StringBody("#{csr}"))
                    .check(bodyBytes().exists())));

    @Override
    public void after() {
        System.out.println("MEF 503 answers with Retry-After (each repeated after it, not failures): " + SHED.get());
    }

    {
        if (available < (which.equals("both") ? 2 * users : users)) {
            throw new IllegalStateException(available + " credentials for " + users + " users per scenario: every device enrols once");
        }
        switch (which) {
            case "procedure" -> setUp(procedure.injectOpen(rampUsers(users).during(rampSeconds))).protocols(protocol)
                    .assertions(global().failedRequests().percent().lt(1.0));
            case "throughput" -> setUp(throughput.injectOpen(rampUsers(users).during(rampSeconds))).protocols(protocol)
                    .assertions(global().failedRequests().percent().lt(1.0));
            default -> setUp(procedure.injectOpen(rampUsers(users).during(rampSeconds))
                    .andThen(throughput.injectOpen(rampUsers(users).during(rampSeconds))))
                    .protocols(protocol)
                    .assertions(global().failedRequests().percent().lt(1.0));
        }
    }

    static String csr(String aeId, String challenge) {
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
            kpg.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair keys = kpg.generateKeyPair();
            JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + aeId), keys.getPublic());
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERPrintableString(challenge));
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, aeId)));
            ext.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(SUID_40_EKU))));
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
            byte[] der = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())).getEncoded();
            return Base64.getEncoder().encodeToString(der);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String challengeFrom(String csrattrsBody) {
        byte[] der = Base64.getMimeDecoder().decode(csrattrsBody);
        for (AttrOrOID a : CsrAttrs.getInstance(ASN1Sequence.getInstance(der)).getAttrOrOIDs()) {
            if (!a.isOid() && a.getAttribute().getAttrType().equals(PKCSObjectIdentifiers.pkcs_9_at_challengePassword)) {
                ASN1Encodable value = a.getAttribute().getAttrValues().getObjectAt(0);
                return value.toString();
            }
        }
        throw new IllegalStateException("no challengePassword in csrattrs");
    }
}
