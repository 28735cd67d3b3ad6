package org.mefgateway.gateway.core;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU-bound steps of an enrolment, each reported from the thread it runs on: CSR parsing and
 * proof of possession, the policy decision, building and encoding the TBSCertificate, verifying a
 * renewing caller's certificate, encoding the response. None may run on an event loop, where it
 * would stall every other connection of that loop; observers (and the trace log) see where they ran.
 */
public final class EnrolmentSteps {
    private static final Logger LOG = LoggerFactory.getLogger(EnrolmentSteps.class);

    public enum Step { AUTHENTICATE, PARSE, DECIDE, BUILD_CERTIFICATE, ENCODE_RESPONSE }

    /** Told each step and the name of the thread it ran on. */
    @FunctionalInterface
    public interface Observer {
        void ran(Step step, String thread);
    }

    private final List<Observer> observers = new CopyOnWriteArrayList<>();

    public void observe(Observer observer) {
        observers.add(observer);
    }

    /** Called by the step itself, on its thread. */
    public void ran(Step step) {
        String thread = Thread.currentThread().getName();
        LOG.trace("enrolment step {} on {}", step, thread);
        for (Observer observer : observers) {
            observer.ran(step, thread);
        }
    }
}
