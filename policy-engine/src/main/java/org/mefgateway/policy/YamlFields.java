package org.mefgateway.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * One YAML mapping of a profile file, read field by field so that every error can name the file,
 * the line and the dotted field path, and so that a misspelt field is an error instead of a
 * silently ignored setting.
 */
final class YamlFields {
    private final String file;
    private final String path;
    private final Node node;
    private final Map<String, NodeTuple> entries = new LinkedHashMap<>();

    YamlFields(String file, String path, Node node) throws ProfileException {
        this.file = file;
        this.path = path;
        this.node = node;
        if (!(node instanceof MappingNode mapping)) {
            throw error(node, path.isEmpty() ? "(profile)" : path, "must be a mapping of fields");
        }
        for (NodeTuple tuple : mapping.getValue()) {
            if (!(tuple.getKeyNode() instanceof ScalarNode key)) {
                // At the top level the path is empty: name the profile, as for "must be a mapping".
                throw error(tuple.getKeyNode(), path.isEmpty() ? "(profile)" : path, "field names must be plain words");
            }
            if (entries.put(key.getValue(), tuple) != null) {
                throw error(key, field(key.getValue()), "is given twice");
            }
        }
    }

    /** Refuses any field not in {@code known}: a typo must not silently fall back to a default. */
    void allowOnly(Set<String> known) throws ProfileException {
        for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
            if (!known.contains(e.getKey())) {
                throw error(e.getValue().getKeyNode(), field(e.getKey()), "unknown field; known fields here: "
                        + known.stream().sorted().toList());
            }
        }
    }

    Optional<YamlFields> map(String key) throws ProfileException {
        NodeTuple t = entries.get(key);
        return t == null ? Optional.empty() : Optional.of(new YamlFields(file, field(key), t.getValueNode()));
    }

    Optional<String> text(String key) throws ProfileException {
        NodeTuple t = entries.get(key);
        return t == null ? Optional.empty() : Optional.of(scalar(t.getValueNode(), field(key)));
    }

    boolean bool(String key, boolean fallback) throws ProfileException {
        Optional<String> v = text(key);
        if (v.isEmpty()) {
            return fallback;
        }
        return switch (v.get()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw error(key, "must be true or false, not '" + v.get() + "'");
        };
    }

    long number(String key, long fallback, long min, long max) throws ProfileException {
        Optional<String> v = text(key);
        if (v.isEmpty()) {
            return fallback;
        }
        long n;
        try {
            n = Long.parseLong(v.get());
        } catch (NumberFormatException e) {
            throw error(key, "must be a whole number, not '" + v.get() + "'");
        }
        if (n < min || n > max) {
            throw error(key, "must be from " + min + " to " + max + ", not " + n);
        }
        return n;
    }

    /** A list of words; a single word is accepted as a list of one. */
    Optional<List<String>> list(String key) throws ProfileException {
        NodeTuple t = entries.get(key);
        if (t == null) {
            return Optional.empty();
        }
        List<String> values = new ArrayList<>();
        if (t.getValueNode() instanceof SequenceNode seq) {
            for (Node item : seq.getValue()) {
                values.add(scalar(item, field(key)));
            }
        } else {
            values.add(scalar(t.getValueNode(), field(key)));
        }
        return Optional.of(values);
    }

    /** Field name to its text, for mappings such as suidEkus or patterns. */
    Optional<Map<String, String>> textMap(String key) throws ProfileException {
        Optional<YamlFields> m = map(key);
        if (m.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String k : m.get().entries.keySet()) {
            values.put(k, m.get().text(k).orElseThrow());
        }
        return Optional.of(values);
    }

    Set<String> keys() {
        return entries.keySet();
    }

    /** The dotted path of a field; an empty key ({@code "": x}) is written {@code ''} so that the error names it. */
    String field(String key) {
        String name = key.isEmpty() ? "''" : key;
        return path.isEmpty() ? name : path + "." + name;
    }

    /** An error at the value of {@code key} (or at this mapping when the key is absent). */
    ProfileException error(String key, String message) {
        NodeTuple t = entries.get(key);
        return error(t == null ? node : t.getValueNode(), field(key), message);
    }

    /** An error at this mapping as a whole, e.g. a combination of fields that cannot work. */
    ProfileException error(String message) {
        return error(node, path.isEmpty() ? "(profile)" : path, message);
    }

    private String scalar(Node value, String field) throws ProfileException {
        if (!(value instanceof ScalarNode s)) {
            throw error(value, field, "must be a single value");
        }
        return s.getValue();
    }

    private ProfileException error(Node at, String field, String message) {
        return new ProfileException(file + ":" + (at.getStartMark().getLine() + 1) + ": " + field + ": " + message);
    }
}
