package org.mefgateway.policy.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.policy.ProfileFile;

/**
 * {@code ProfileFile.parse} reads files an operator wrote, and a reload must never take the
 * gateway down: whatever the text, it returns a Profile or throws {@link ProfileException}. Any
 * other exception, error or hang (YAML alias or nesting bombs) is a finding. Beyond that:
 * <ul>
 *   <li>the same text gives the same answer: an equal profile (the profile and its parts are
 *       records of values, so equals compares every setting), or the same error;</li>
 *   <li>a profile is named after its file;</li>
 *   <li>an error tells the operator where to look: {@code fuzz.yaml:LINE: FIELD: what is wrong},
 *       the line one of the file's, the field not empty. The one exception is a YAML error that
 *       SnakeYAML reports without a position ({@code fuzz.yaml: not valid YAML: ...}, e.g. too
 *       many aliases), which names the file and the problem.</li>
 * </ul>
 * Seeds: the shipped example profiles, YAML bombs.
 */
class ProfileFileFuzzTest {
    /**
     * file:line: field: message. The field may hold anything a YAML key can, the message too; the
     * field is not empty (an empty one would leave ": " right after the line).
     */
    private static final Pattern LOCATED = Pattern.compile("fuzz\\.yaml:([1-9][0-9]*): (?!: )(.+?): (.+)", Pattern.DOTALL);
    private static final String UNLOCATED = "fuzz.yaml: not valid YAML: ";
    /** Line breaks as YAML 1.1 (SnakeYAML) counts them: CR LF, CR, LF, NEL, LS, PS. */
    private static final Pattern LINE_BREAK = Pattern.compile("\r\n|[\r\n\u0085\u2028\u2029]");

    @Timeout(10)
    @FuzzTest
    void parse(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        Profile profile;
        try {
            profile = ProfileFile.parse("fuzz.yaml", text);
        } catch (ProfileException refused) {
            located(refused.getMessage(), text);
            try {
                ProfileFile.parse("fuzz.yaml", text);
            } catch (ProfileException again) {
                assertEquals(refused.getMessage(), again.getMessage(), "the same text is refused for the same reason");
                return;
            }
            throw new AssertionError("the same text was refused, then accepted: " + refused.getMessage());
        }
        assertNotNull(profile);
        assertEquals("fuzz", profile.name(), "a profile is named after its file");
        Profile again;
        try {
            again = ProfileFile.parse("fuzz.yaml", text);
        } catch (ProfileException e) {
            throw new AssertionError("the same text was accepted, then refused: " + e.getMessage(), e);
        }
        assertEquals(profile, again, "the same text gives an equal profile");
        assertEquals(profile.hashCode(), again.hashCode());
    }

    private static void located(String message, String text) {
        assertNotNull(message);
        if (message.startsWith(UNLOCATED)) {
            assertTrue(message.length() > UNLOCATED.length(), "a YAML error says what is wrong: " + message);
            return;
        }
        Matcher m = LOCATED.matcher(message);
        assertTrue(m.matches(), "an error reads file:line: field: message, with a field, not: " + message);
        long lines = 1 + LINE_BREAK.matcher(text).results().count();
        int line = Integer.parseInt(m.group(1));
        assertTrue(line <= lines, "line " + line + " of a text of " + lines + " lines: " + message);
    }
}
