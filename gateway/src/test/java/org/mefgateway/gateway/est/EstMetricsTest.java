package org.mefgateway.gateway.est;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The labels of the EST request meters take a few fixed values, whatever path a client sends. */
class EstMetricsTest {
    private static final Predicate<String> SERVED = Set.of("ae", "cse")::contains;

    @Test
    void estOperationsAreNamedWithTheirLabelOrEmptyForTheDefaultProfile() {
        assertEquals(new EstMetrics.Request("simpleenroll", ""), EstMetrics.classify("/.well-known/est/simpleenroll", SERVED));
        assertEquals(new EstMetrics.Request("cacerts", "ae"), EstMetrics.classify("/.well-known/est/ae/cacerts", SERVED));
        assertEquals(new EstMetrics.Request("simplereenroll", "cse"), EstMetrics.classify("/.well-known/est/cse/simplereenroll", SERVED));
        assertEquals(new EstMetrics.Request("serverkeygen", ""), EstMetrics.classify("/.well-known/est/serverkeygen", SERVED));
        assertEquals(new EstMetrics.Request("csrattrs", "ae"), EstMetrics.classify("/.well-known/est/ae/csrattrs", SERVED));
        assertEquals(new EstMetrics.Request("command", ""), EstMetrics.classify("/mef/command", SERVED));
    }

    @Test
    void aLabelNoProfileServesIsUnknownSoClientsCannotCreateSeries() {
        assertEquals(new EstMetrics.Request("simpleenroll", "unknown"),
                EstMetrics.classify("/.well-known/est/device-4711/simpleenroll", SERVED));
        assertEquals(new EstMetrics.Request("cacerts", "unknown"), EstMetrics.classify("/.well-known/est/%61e/cacerts", SERVED));
    }

    @Test
    void anythingElseIsOtherWithoutLabel() {
        for (String path : new String[] {"/", "/admin/enrolees", "/.well-known/est", "/.well-known/est/", "/.well-known/est/ae",
                "/.well-known/est/ae/fullcmc", "/.well-known/est/a/b/simpleenroll", "/.well-known/est/simpleenroll/", "/mef/command/x"}) {
            assertEquals(new EstMetrics.Request("other", ""), EstMetrics.classify(path, SERVED), path);
        }
    }

    @Test
    void outcomeFollowsTheStatusClassWith202Deferred() {
        assertEquals("success", EstMetrics.outcome(200));
        assertEquals("deferred", EstMetrics.outcome(202));
        assertEquals("refused", EstMetrics.outcome(400));
        assertEquals("refused", EstMetrics.outcome(403));
        assertEquals("refused", EstMetrics.outcome(429));
        assertEquals("error", EstMetrics.outcome(500));
        assertEquals("error", EstMetrics.outcome(503));
    }
}
