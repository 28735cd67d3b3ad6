package org.mefgateway.policy;

import java.util.List;

/**
 * The engine's rule ids, for tests outside this package (the fuzz targets in
 * {@code org.mefgateway.policy.fuzz}): {@link PolicyEngine#RULES} is package-private, and the
 * product needs no public list of them.
 */
public final class RuleTable {
    private RuleTable() {
    }

    /** The rule ids in the order the engine applies the rules. */
    public static List<String> ids() {
        return PolicyEngine.RULES.stream().map(Rule::id).toList();
    }
}
