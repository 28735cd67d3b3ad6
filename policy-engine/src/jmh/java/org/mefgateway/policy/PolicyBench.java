package org.mefgateway.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x509.GeneralName;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * Decisions per second on one thread, against the work an enrolment does anyway: parsing the
 * CSR and verifying its signature. Run by ops/bench.d/policy ({@code -Pbench}).
 *
 * <ul>
 *   <li>{@code decideDefault}: the oneM2M default profile, a compliant AE request (an Issue, so
 *       every rule runs and the template is built);
 *   <li>{@code decidePatterns}: a CSE profile with RDN and SAN patterns (placeholders are
 *       instantiated and compiled per decision), a request with three SANs (an Issue);
 *   <li>{@code parse}: {@link CsrParser#parse} of one P-256 CSR, signature verification included.
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
public class PolicyBench {

    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    static final String AE_ID = "//m2m.example.com/CSE3219/C9886";
    static final String CSE_ID = "cse3219.m2m.example.com";

    static final String PATTERNS_YAML = """
            keys: {ec: [P-256, P-384]}
            subject:
              mode: rdns
              rdns:
                CN: {required: true, pattern: '{certSubjectId}'}
                O: {pattern: 'Acme( Corp)?'}
            subjectAltName:
              types: [DNS, IP]
              patterns: {DNS: '([a-z0-9-]+\\.)+{certSubjectId}'}
              maxCount: 4
              add: ['URI:urn:example:cse:{enroleeId}']
            eku: {allowed: [serverAuth, clientAuth]}
            """;

    PolicyEngine defaultEngine;
    CsrFacts aeCsr;
    EnrolmentContext aeCtx;
    PolicyEngine patternEngine;
    CsrFacts cseCsr;
    EnrolmentContext cseCtx;
    byte[] der;

    @Setup
    public void setUp() throws Exception {
        defaultEngine = new PolicyEngine(ProfileFile.parse("default.yaml", ""));
        RegisteredEnrolee ae = new RegisteredEnrolee("ae-1", CertSubjectType.AE_ID, AE_ID, Set.of(40, 43));
        der = TestCsrs.csr(TestCsrs.P256).subject("CN=" + AE_ID).uri(AE_ID).eku(TestCsrs.suidEku(40)).der();
        aeCsr = CsrParser.parse(der);
        aeCtx = ctx(ae);

        patternEngine = new PolicyEngine(ProfileFile.parse("cse.yaml", PATTERNS_YAML));
        RegisteredEnrolee cse = new RegisteredEnrolee("cse-1", CertSubjectType.CSE_ID, CSE_ID, Set.of(41));
        cseCsr = CsrParser.parse(TestCsrs.csr(TestCsrs.P256).subject("O=Acme,CN=" + CSE_ID)
                .san(GeneralName.dNSName, CSE_ID).san(GeneralName.dNSName, "mn1.gw." + CSE_ID)
                .san(GeneralName.iPAddress, "192.0.2.7").eku(TestCsrs.SERVER_AUTH).der());
        cseCtx = ctx(cse);

        for (Decision d : new Decision[] {decideDefault(), decidePatterns()}) {
            if (!(d instanceof Decision.Issue)) {
                throw new IllegalStateException("the benchmark must measure an Issue, not " + d);
            }
        }
    }

    static EnrolmentContext ctx(RegisteredEnrolee enrolee) {
        return new EnrolmentContext("", "ab".repeat(32), enrolee,
                Optional.of(new IssuedChallenge(enrolee.id(), NOW.plus(Duration.ofMinutes(5)), false)), Optional.empty(),
                Optional.empty(), 0, NOW.plus(Duration.ofDays(3650)), NOW);
    }

    @Benchmark
    public Decision decideDefault() {
        return defaultEngine.decide(aeCsr, aeCtx);
    }

    @Benchmark
    public Decision decidePatterns() {
        return patternEngine.decide(cseCsr, cseCtx);
    }

    @Benchmark
    public CsrFacts parse() throws MalformedCsrException {
        return CsrParser.parse(der);
    }
}
