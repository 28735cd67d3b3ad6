package org.mefgateway.enrolee;

/**
 * Receives one line per step of the TS-0003 certificate enrolment procedure as it happens.
 * Steps 8 to 11 run inside the MEF; they are reported after the MEF's answer shows they happened.
 */
@FunctionalInterface
public interface StepListener {
    /** The step number used for the preliminary step: reading the MEF Client Command. */
    int PRE = 0;

    /**
     * @param number {@link #PRE} or 1..13, the step number of the TS-0003 procedure
     * @param text   what happened, one line; never contains a secret
     */
    void step(int number, String text);
}
