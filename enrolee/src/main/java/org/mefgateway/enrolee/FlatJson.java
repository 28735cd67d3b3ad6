package org.mefgateway.enrolee;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A strict parser for the only JSON the MEF sends the Enrolee: one flat object whose member
 * values are strings or integers. Anything else (arrays, nested objects, fractions, booleans,
 * duplicate members, trailing content) is rejected, so a confused or hostile answer cannot be
 * half-understood. Keeping it this small avoids a JSON library in an Enrolee that may run on
 * constrained devices.
 */
final class FlatJson {
    private final String text;
    private int pos;

    private FlatJson(String text) {
        this.text = text;
    }

    /**
     * @return the members in document order; values are {@link String} or {@link Long}
     * @throws IllegalArgumentException naming the offset and what was wrong
     */
    static Map<String, Object> parseObject(String text) {
        FlatJson parser = new FlatJson(text);
        Map<String, Object> members = parser.object();
        parser.skipWhitespace();
        if (parser.pos != text.length()) {
            throw parser.error("unexpected content after the object");
        }
        return members;
    }

    private Map<String, Object> object() {
        skipWhitespace();
        if (next() != '{') {
            throw error("expected a JSON object");
        }
        Map<String, Object> members = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return members;
        }
        while (true) {
            skipWhitespace();
            String name = string();
            skipWhitespace();
            if (next() != ':') {
                throw error("expected ':' after member name");
            }
            skipWhitespace();
            Object value = value();
            if (members.putIfAbsent(name, value) != null) {
                throw error("duplicate member \"" + name + "\"");
            }
            skipWhitespace();
            char c = next();
            if (c == '}') {
                return members;
            }
            if (c != ',') {
                throw error("expected ',' or '}'");
            }
        }
    }

    private Object value() {
        char c = peek();
        if (c == '"') {
            return string();
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            return integer();
        }
        throw error("only string and integer values are expected");
    }

    private String string() {
        if (next() != '"') {
            throw error("expected a string");
        }
        StringBuilder out = new StringBuilder();
        while (true) {
            char c = next();
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                throw error("control character in string");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char e = next();
            switch (e) {
                case '"', '\\', '/' -> out.append(e);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> out.append(unicodeEscape());
                default -> throw error("invalid escape \\" + e);
            }
        }
    }

    private char unicodeEscape() {
        if (pos + 4 > text.length()) {
            throw error("truncated \\u escape");
        }
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int digit = Character.digit(text.charAt(pos++), 16);
            if (digit < 0) {
                throw error("invalid \\u escape");
            }
            value = value * 16 + digit;
        }
        return (char) value;
    }

    private Long integer() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9') {
                pos++;
            }
        } else {
            throw error("expected a digit");
        }
        char c = peek();
        if (c == '.' || c == 'e' || c == 'E') {
            throw error("only integer numbers are expected");
        }
        try {
            return Long.parseLong(text.substring(start, pos));
        } catch (NumberFormatException e) {
            throw error("integer out of range");
        }
    }

    private void skipWhitespace() {
        while (pos < text.length() && " \t\r\n".indexOf(text.charAt(pos)) >= 0) {
            pos++;
        }
    }

    /** The next character without consuming it; NUL at the end (never valid where it is tested). */
    private char peek() {
        return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private char next() {
        if (pos >= text.length()) {
            throw error("unexpected end of input");
        }
        return text.charAt(pos++);
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("malformed JSON at offset " + pos + ": " + what);
    }
}
