package org.mefgateway.gateway.core;

/**
 * What an enrolment asks for: a first certificate (RFC 7030 4.2.1 simpleenroll), a renewal of the
 * certificate the caller authenticated with (4.2.2 simplereenroll), or a first certificate for a
 * key pair the MEF generates (4.4 serverkeygen). Another protocol maps its messages onto these.
 */
public enum Operation {
    ENROL("simpleenroll"), REENROL("simplereenroll"), SERVERKEYGEN("serverkeygen");

    private final String metricName;

    Operation(String metricName) {
        this.metricName = metricName;
    }

    /** The value of the {@code operation} label of the enrolment metrics (the RFC 7030 names, as they always were). */
    public String metricName() {
        return metricName;
    }
}
