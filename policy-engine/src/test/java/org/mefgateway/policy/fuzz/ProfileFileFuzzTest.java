package org.mefgateway.policy.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
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
    private static final String FILE = "fuzz.yaml:";
    private static final String UNLOCATED = "fuzz.yaml: not valid YAML: ";

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

    /**
     * The message reads {@code fuzz.yaml:LINE: FIELD: MESSAGE}: LINE one of the text's lines, FIELD
     * not empty (anything a YAML key can hold, so only its end is looked for), or it is the
     * unlocated YAML form.
     */
    private static void located(String message, String text) {
        assertNotNull(message);
        if (message.startsWith(UNLOCATED)) {
            assertTrue(message.length() > UNLOCATED.length(), "a YAML error says what is wrong: " + message);
            return;
        }
        assertTrue(message.startsWith(FILE), "an error names the file first: " + message);
        int digits = FILE.length();
        while (digits < message.length() && message.charAt(digits) >= '0' && message.charAt(digits) <= '9') {
            digits++;
        }
        assertTrue(digits > FILE.length() && digits - FILE.length() < 10 && message.startsWith(": ", digits),
                "an error names the line: " + message);
        long line = Long.parseLong(message.substring(FILE.length(), digits));
        long lines = lines(text);
        assertTrue(line >= 1 && line <= lines, "line " + line + " of a text of " + lines + " lines: " + message);
        String rest = message.substring(digits + 2);
        assertTrue(!rest.startsWith(":") && rest.indexOf(": ") > 0, "an error names the field, then says what is wrong: " + message);
    }

    /**
     * Lines as YAML 1.1 (SnakeYAML) counts them: CR LF, CR, LF, NEL, LS and PS each end one.
     * Counted with String's own methods, not a loop over every character here: Jazzer instruments
     * this class, and such a loop over 16 KB inputs made the target seven times slower.
     */
    private static long lines(String text) {
        // String.lines() splits at CR LF, CR and LF; the appended character keeps a last empty line.
        long lines = (text + "x").lines().count();
        for (char separator : new char[] {'\u0085', '\u2028', '\u2029'}) {
            for (int at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, at + 1)) {
                lines++;
            }
        }
        return lines;
    }
}
