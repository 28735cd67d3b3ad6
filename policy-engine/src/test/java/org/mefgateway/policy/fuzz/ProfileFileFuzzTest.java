package org.mefgateway.policy.fuzz;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.policy.ProfileFile;

/**
 * {@code ProfileFile.parse} reads files an operator wrote, and a reload must never take the
 * gateway down: whatever the text, it returns a Profile or throws {@link ProfileException}
 * (named file, line, field). Any other exception, error or hang (YAML alias or nesting bombs)
 * is a finding. Seeds: the shipped example profiles.
 */
class ProfileFileFuzzTest {

    @Timeout(10)
    @FuzzTest
    void parse(byte[] text) {
        try {
            Profile profile = ProfileFile.parse("fuzz.yaml", new String(text, StandardCharsets.UTF_8));
            assertNotNull(profile);
        } catch (ProfileException refused) {
            assertNotNull(refused.getMessage());
        }
    }
}
