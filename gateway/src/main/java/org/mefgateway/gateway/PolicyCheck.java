package org.mefgateway.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.mefgateway.gateway.admin.AdminClient;
import org.mefgateway.gateway.core.Refusals;
import org.mefgateway.policy.CertSubjectType;
import org.mefgateway.policy.CertificateTemplate;
import org.mefgateway.policy.CsrFacts;
import org.mefgateway.policy.CsrParser;
import org.mefgateway.policy.Decision;
import org.mefgateway.policy.EnrolmentContext;
import org.mefgateway.policy.MalformedCsrException;
import org.mefgateway.policy.PolicyEngine;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.policy.ProfileFile;
import org.mefgateway.policy.RegisteredEnrolee;
import org.mefgateway.policy.SubjectAltName;

/**
 * {@code mefgate policy check}: a dry run of one CSR against one profile of the policy directory,
 * printing the decision and the certificate template it would issue. It reads the profile files
 * (not the running gateway's copy), so an operator can test a change before reloading it. It
 * reviews the CSR as an approval does ({@link PolicyEngine#review}): every rule but the challenge
 * rules, whose credentials (a challenge the MEF handed out, the TLS session) only a live request
 * has; the output says so. What else only the live MEF knows is assumed and said so: the Enrolee
 * has no issuance in the last 24 hours.
 */
final class PolicyCheck {
    /** Exit code of a CSR the profile would refuse, so that scripts can tell it from an error (1). */
    static final int DENIED = 3;

    private static final Pattern PEM_CSR =
            Pattern.compile("-----BEGIN (NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\\s]+)-----END (NEW )?CERTIFICATE REQUEST-----");

    private PolicyCheck() {
    }

    /**
     * @param profileName the profile (its file name without .yaml)
     * @param csrFile     PEM or DER PKCS#10
     * @param options     enrolee (look it up in the running gateway), or type + subject-id [+ suids]
     */
    static int run(GatewayConfig config, String profileName, Path csrFile, Map<String, String> options, PrintStream out)
            throws Exception {
        Map<String, PolicyEngine> engines;
        try {
            engines = org.mefgateway.gateway.core.PolicyDirectory.read(config.policyDir(),
                    config.caKeys().stream().map(org.mefgateway.hsm.CaKeyConfig::name).collect(java.util.stream.Collectors.toSet()));
        } catch (ProfileException e) {
            throw new IOException(e.getMessage());
        }
        PolicyEngine engine = engines.get(profileName);
        if (engine == null) {
            throw new MefGate.UsageException("no profile '" + profileName + "' in " + config.policyDir() + "; there are "
                    + engines.keySet());
        }
        CsrFacts csr;
        try {
            csr = CsrParser.parse(readCsr(csrFile));
        } catch (MalformedCsrException e) {
            out.println("decision: DENY profile=" + profileName + " rule=csr.malformed status=" + ErrorResponses.status(Refusals.codeOf("csr.malformed")));
            out.println("reason:   " + e.getMessage());
            return DENIED;
        }
        RegisteredEnrolee enrolee = enrolee(config, csr, options, out);
        Instant now = Clock.systemUTC().instant();
        // Not checked, only said: the challenge rules are the live request's (PolicyEngine.review).
        boolean binding = engine.profile().challenge().channelBinding();
        if (binding) {
            out.println("assumed:  the challengePassword is the channel binding of the TLS session the CSR arrives on");
        } else if (csr.challengePassword().isPresent()) {
            out.println("assumed:  the challengePassword is one this MEF issued to " + enrolee.id() + ", unused and unexpired");
        }
        Instant caNotAfter = caNotAfter(config, now, out);
        Decision decision = engine.review(csr, new EnrolmentContext(ProfileFile.DEFAULT.equals(profileName) ? "" : profileName,
                "0".repeat(64), enrolee, Optional.empty(), Optional.empty(), Optional.empty(), 0, caNotAfter, now));
        if (decision instanceof Decision.Deny deny) {
            out.println("decision: DENY profile=" + deny.profile() + " rule=" + deny.ruleId() + " status="
                    + ErrorResponses.status(Refusals.codeOf(deny.ruleId())));
            out.println("reason:   " + deny.reason());
            return DENIED;
        }
        Decision.Issue issue = (Decision.Issue) decision;
        CertificateTemplate t = issue.template();
        out.println("decision: ISSUE profile=" + issue.profile());
        out.println("subject:  " + (t.subject().isEmpty() ? "(empty)" : t.subject()));
        out.println("san:      " + t.subjectAltNames());
        out.println("eku:      " + t.extendedKeyUsages());
        out.println("keyUsage: " + (t.keyUsageDigitalSignature() ? "digitalSignature" : "(none)") + "; basicConstraints cA=FALSE");
        out.println("validity: " + t.notBefore() + " .. " + t.notAfter());
        if (!t.copiedExtensions().isEmpty()) {
            out.println("copied:   " + t.copiedExtensions().stream().map(CsrFacts.RequestedExtension::oid).toList());
        }
        if (!t.crlDistributionPoints().isEmpty() || !t.ocspUrls().isEmpty() || !t.caIssuersUrls().isEmpty()) {
            out.println("urls:     crl=" + t.crlDistributionPoints() + " ocsp=" + t.ocspUrls() + " caIssuers=" + t.caIssuersUrls());
        }
        return 0;
    }

    private static byte[] readCsr(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        Matcher pem = PEM_CSR.matcher(new String(bytes, StandardCharsets.US_ASCII));
        if (pem.find()) {
            return java.util.Base64.getMimeDecoder().decode(pem.group(2));
        }
        return bytes;
    }

    private static RegisteredEnrolee enrolee(GatewayConfig config, CsrFacts csr, Map<String, String> options, PrintStream out)
            throws Exception {
        if (options.containsKey("enrolee")) {
            return registered(config, options.get("enrolee"));
        }
        if (options.containsKey("type") || options.containsKey("subject-id")) {
            if (!options.containsKey("type") || !options.containsKey("subject-id")) {
                throw new MefGate.UsageException("--type and --subject-id go together");
            }
            return new RegisteredEnrolee("policy-check", CertSubjectType.parse(options.get("type")),
                    options.get("subject-id"), suids(options.getOrDefault("suids", "")));
        }
        // Neither: the CSR's first URI or DNS name stands for the registered identity.
        SubjectAltName first = csr.subjectAltNames().stream()
                .filter(s -> s.kind() == SubjectAltName.Kind.URI || s.kind() == SubjectAltName.Kind.DNS).findFirst()
                .orElseThrow(() -> new MefGate.UsageException("the CSR has no URI or DNS subjectAltName to stand for the "
                        + "Enrolee: give --enrolee ID, or --type and --subject-id"));
        CertSubjectType type = first.kind() == SubjectAltName.Kind.DNS ? CertSubjectType.CSE_ID : CertSubjectType.AE_ID;
        RegisteredEnrolee assumed = new RegisteredEnrolee("policy-check", type, first.value(),
                suids(options.getOrDefault("suids", "")));
        out.println("assumed:  an Enrolee registered as " + type + " " + first.value() + " with SUIDs "
                + assumed.suids().stream().sorted().toList());
        return assumed;
    }

    /** The registration as the running gateway has it (the H2 file belongs to the gateway process). */
    private static RegisteredEnrolee registered(GatewayConfig config, String id) throws Exception {
        HttpResponse<String> response = new AdminClient(config).get("/admin/enrolees");
        if (response.statusCode() != 200) {
            throw new IOException("the gateway refused to list Enrolees (" + response.statusCode() + "): " + response.body().strip());
        }
        JsonArray list = new JsonArray(response.body());
        for (int i = 0; i < list.size(); i++) {
            JsonObject e = list.getJsonObject(i);
            if (id.equals(e.getString("id"))) {
                Set<Integer> suids = new HashSet<>();
                e.getJsonArray("suids").forEach(s -> suids.add(((Number) s).intValue()));
                return new RegisteredEnrolee(id, CertSubjectType.fromCode(e.getInteger("certSubjectType")),
                        e.getString("certSubjectID"), suids);
            }
        }
        throw new MefGate.UsageException("the gateway has no Enrolee '" + id + "'");
    }

    private static Set<Integer> suids(String text) throws MefGate.UsageException {
        Set<Integer> suids = new HashSet<>();
        for (String s : text.split(",")) {
            if (s.isBlank()) {
                continue;
            }
            try {
                suids.add(Integer.parseInt(s.strip()));
            } catch (NumberFormatException e) {
                throw new MefGate.UsageException("--suids takes numbers such as 40,41, not '" + s + "'");
            }
        }
        return suids;
    }

    private static Instant caNotAfter(GatewayConfig config, Instant now, PrintStream out) throws IOException {
        Path ca = config.dataDir().caCertificate();
        if (Files.exists(ca)) {
            return Pem.read(ca).get(0).getNotAfter().toInstant();
        }
        out.println("assumed:  no CA certificate at " + ca + " yet; taking one valid for 10 years");
        return now.plus(java.time.Duration.ofDays(3650));
    }
}
