package org.mefgateway.policy;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The engine's rules by id with the status each refuses with, for tests outside this package
 * (the fuzz targets in {@code org.mefgateway.policy.fuzz}): {@link PolicyEngine#RULES} is
 * package-private, and the product needs no public list of them.
 */
public final class RuleTable {
    private RuleTable() {
    }

    /** Rule id to the HTTP status of its refusal, in the order the engine applies the rules. */
    public static Map<String, Integer> statusById() {
        Map<String, Integer> statuses = new LinkedHashMap<>();
        for (Rule rule : PolicyEngine.RULES) {
            statuses.put(rule.id(), rule.httpStatus());
        }
        return statuses;
    }
}
