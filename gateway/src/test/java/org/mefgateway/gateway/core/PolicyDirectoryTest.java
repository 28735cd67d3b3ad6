package org.mefgateway.gateway.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mefgateway.policy.ProfileException;

class PolicyDirectoryTest {
    static final Set<String> DEFAULT_KEY = Set.of("default");

    @Test
    void eachFileServesTheLabelOfItsNameAndDefaultServesRequestsWithoutOne(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("default.yaml"), "validity: {days: 30}\n");
        Files.writeString(dir.resolve("ae.yaml"), "validity: {days: 90}\n");
        Files.writeString(dir.resolve("notes.txt"), "not a profile");

        PolicyDirectory policies = PolicyDirectory.load(dir, DEFAULT_KEY);

        assertEquals(Duration.ofDays(30), policies.forLabel("").orElseThrow().profile().validity());
        assertEquals(Duration.ofDays(90), policies.forLabel("ae").orElseThrow().profile().validity());
        assertEquals(Optional.empty(), policies.forLabel("cse"));
    }

    @Test
    void aBadFileRefusesTheStartWithEveryErrorNamingFileAndLine(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("ae.yaml"), "validity:\n  dayz: 30\n");
        Files.writeString(dir.resolve("cse.yaml"), "keys: {ec: [P-999]}\n");

        ProfileException e = assertThrows(ProfileException.class, () -> PolicyDirectory.load(dir, DEFAULT_KEY));

        assertTrue(e.getMessage().contains("ae.yaml:2: validity.dayz: unknown field"), e.getMessage());
        assertTrue(e.getMessage().contains("cse.yaml:1: keys.ec: unknown curve 'P-999'"), e.getMessage());
    }

    @Test
    void aBadReloadKeepsEveryProfileInUseAndAGoodOneSwapsThemAll(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("default.yaml"), "validity: {days: 30}\n");
        Files.writeString(dir.resolve("ae.yaml"), "validity: {days: 90}\n");
        PolicyDirectory policies = PolicyDirectory.load(dir, DEFAULT_KEY);

        Files.writeString(dir.resolve("default.yaml"), "validity: {days: 7}\n");
        Files.writeString(dir.resolve("ae.yaml"), "validity: {days: -1}\n");
        assertThrows(ProfileException.class, policies::reload);
        assertEquals(Duration.ofDays(30), policies.forLabel("").orElseThrow().profile().validity());
        assertEquals(Duration.ofDays(90), policies.forLabel("ae").orElseThrow().profile().validity());

        Files.delete(dir.resolve("ae.yaml"));
        assertEquals(List.of("default"), policies.reload());
        assertEquals(Duration.ofDays(7), policies.forLabel("").orElseThrow().profile().validity());
        assertEquals(Optional.empty(), policies.forLabel("ae"));
    }

    @Test
    void aChannelBindingProfileLoadsOnlyWhereTheJdkCanExportKeyingMaterial(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("bound.yaml"), "challenge: {required: false, channelBinding: true}\n");

        if (Runtime.version().feature() >= 25) {
            assertTrue(PolicyDirectory.load(dir, DEFAULT_KEY).forLabel("bound").orElseThrow().profile().challenge().channelBinding());
        } else {
            ProfileException e = assertThrows(ProfileException.class, () -> PolicyDirectory.load(dir, DEFAULT_KEY));
            assertTrue(e.getMessage().contains("bound.yaml: challenge.channelBinding needs tls-exporter, which the JDK offers "
                    + "from version 25"), e.getMessage());
        }
    }

    @Test
    void aProfileNamingACaKeyThatIsNotConfiguredIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("iot.yaml"), "caKey: iot\n");

        ProfileException e = assertThrows(ProfileException.class, () -> PolicyDirectory.load(dir, DEFAULT_KEY));
        assertTrue(e.getMessage().contains("iot.yaml: caKey: no CA key 'iot' is configured; there are [default]"), e.getMessage());
        assertEquals("iot", PolicyDirectory.load(dir, Set.of("default", "iot")).forLabel("iot").orElseThrow().profile().caKey());
    }

    @Test
    void anEmptyOrMissingDirectoryIsRefused(@TempDir Path dir) {
        assertTrue(assertThrows(ProfileException.class, () -> PolicyDirectory.load(dir, DEFAULT_KEY)).getMessage().contains("no profile"));
        assertTrue(assertThrows(ProfileException.class, () -> PolicyDirectory.load(dir.resolve("nope"), DEFAULT_KEY)).getMessage()
                .contains("does not exist"));
    }
}
