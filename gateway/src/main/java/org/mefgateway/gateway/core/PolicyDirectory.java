package org.mefgateway.gateway.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.mefgateway.gateway.ChannelBinding;
import org.mefgateway.policy.PolicyEngine;
import org.mefgateway.policy.Profile;
import org.mefgateway.policy.ProfileException;
import org.mefgateway.policy.ProfileFile;

/**
 * The profiles of the policy directory, one {@code <label>.yaml} per EST label
 * ({@code default.yaml} for requests without a label). A reload reads and validates every file
 * first and swaps the whole set in one step, so a request sees either the old profiles or the
 * new ones, never a mix, and a directory with one bad file changes nothing.
 */
public final class PolicyDirectory {
    /** Longest profile file read: a profile is a page of YAML, not a data set. */
    private static final long MAX_FILE_BYTES = 256 * 1024;

    private final Path dir;
    private final Set<String> caKeys;
    private final AtomicReference<Map<String, PolicyEngine>> engines = new AtomicReference<>(Map.of());

    private PolicyDirectory(Path dir, Set<String> caKeys) {
        this.dir = dir;
        this.caKeys = Set.copyOf(caKeys);
    }

    /**
     * Loads the directory, or fails with every problem found: the gateway does not start with a
     * bad profile. {@code caKeys} are the names of the configured CA keys a profile may name.
     */
    public static PolicyDirectory load(Path dir, Set<String> caKeys) throws ProfileException {
        PolicyDirectory policies = new PolicyDirectory(dir, caKeys);
        policies.reload();
        return policies;
    }

    /**
     * Reads the directory again. On success the new profiles serve every following request and
     * their names are returned; on any error the profiles in use stay as they were.
     */
    public synchronized List<String> reload() throws ProfileException {
        Map<String, PolicyEngine> loaded = read(dir, caKeys);
        engines.set(Map.copyOf(loaded));
        return List.copyOf(loaded.keySet());
    }

    /** The engine of the profile for this EST label ("" = the default profile), if there is one. */
    public Optional<PolicyEngine> forLabel(String label) {
        return Optional.ofNullable(engines.get().get(profileOf(label)));
    }

    /** The engine of the profile with this name, if there is one. */
    public Optional<PolicyEngine> forProfile(String name) {
        return Optional.ofNullable(engines.get().get(name));
    }

    /** The EST label a profile serves: its name, or "" (no label) for the default profile. */
    public static String labelOf(String profile) {
        return profile.equals(ProfileFile.DEFAULT) ? "" : profile;
    }

    /** The profile that serves an EST label ("" = the default profile). */
    public static String profileOf(String label) {
        return label.isEmpty() ? ProfileFile.DEFAULT : label;
    }

    /** Every profile in use, by name. */
    public Map<String, Profile> profiles() {
        Map<String, Profile> out = new TreeMap<>();
        engines.get().forEach((name, engine) -> out.put(name, engine.profile()));
        return out;
    }

    public Path dir() {
        return dir;
    }

    /** Every *.yaml file of {@code dir} as a profile; all errors of all files in one exception. */
    public static Map<String, PolicyEngine> read(Path dir, Set<String> caKeys) throws ProfileException {
        if (!Files.isDirectory(dir)) {
            throw new ProfileException(dir + ": the policy directory does not exist");
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(f -> ProfileFile.profileName(f.getFileName().toString()).isPresent()).sorted().toList();
        } catch (IOException e) {
            throw new ProfileException(dir + ": cannot list the policy directory: " + e.getMessage());
        }
        if (files.isEmpty()) {
            throw new ProfileException(dir + ": no profile (*.yaml) in the policy directory; default.yaml serves "
                    + "requests without a label");
        }
        Map<String, PolicyEngine> engines = new TreeMap<>();
        List<String> errors = new ArrayList<>();
        for (Path file : files) {
            try {
                Profile profile = ProfileFile.parse(file.getFileName().toString(), readSmall(file));
                if (profile.challenge().channelBinding() && !ChannelBinding.available()) {
                    throw new ProfileException(file.getFileName() + ": challenge.channelBinding needs tls-exporter, which "
                            + "the JDK offers from version 25; this gateway runs on Java " + Runtime.version().feature());
                }
                if (!caKeys.contains(profile.caKey())) {
                    throw new ProfileException(file.getFileName() + ": caKey: no CA key '" + profile.caKey()
                            + "' is configured; there are " + caKeys.stream().sorted().toList() + " (mefgate.yaml hsm.keys)");
                }
                engines.put(profile.name(), new PolicyEngine(profile));
            } catch (ProfileException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new ProfileException(dir + ": " + errors.size() + " invalid profile file(s), nothing changed:\n  "
                    + String.join("\n  ", errors));
        }
        return engines;
    }

    private static String readSmall(Path file) throws ProfileException {
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new ProfileException(file.getFileName() + ": larger than " + MAX_FILE_BYTES + " bytes");
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ProfileException(file.getFileName() + ": cannot read: " + e.getMessage());
        }
    }
}
