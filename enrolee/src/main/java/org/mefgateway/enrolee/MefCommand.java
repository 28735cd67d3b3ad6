package org.mefgateway.enrolee;

import java.net.URI;
import java.util.Map;

/**
 * The MEF Client Command (TS-0003 8.3.9.7) waiting for this Enrolee at {@code GET /mef/command}:
 * either {@code CERT_PROV} (enrol for a certificate of the given identity over the given protocol)
 * or {@code NO_MORE_COMMANDS}. For {@code NO_MORE_COMMANDS} only {@link #enroleeId()} and
 * {@link #command()} are set; the other components are null.
 *
 * @param enroleeId          the MEF's name for this Enrolee
 * @param command            what the MEF instructs
 * @param certProvProtocolID the provisioning protocol, "EST" for this MEF
 * @param uri                where the MEF says the protocol is served
 * @param certSubjectType    the kind of identity the certificate is for
 * @param certSubjectID      the identity itself, e.g. an absolute AE-ID
 */
public record MefCommand(String enroleeId, Kind command, String certProvProtocolID, URI uri,
                         CertSubjectType certSubjectType, String certSubjectID) {

    /** The command values this Enrolee understands. */
    public enum Kind { CERT_PROV, NO_MORE_COMMANDS }

    /**
     * Parses the JSON the MEF sends. Members this version does not use are ignored, so the MEF can
     * add fields; missing or mistyped members, unknown commands and malformed JSON are rejected.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static MefCommand parse(String json) {
        Map<String, Object> members = FlatJson.parseObject(json);
        String enroleeId = requiredString(members, "enroleeId");
        String command = requiredString(members, "command");
        switch (command) {
            case "NO_MORE_COMMANDS":
                return new MefCommand(enroleeId, Kind.NO_MORE_COMMANDS, null, null, null, null);
            case "CERT_PROV":
                String protocol = requiredString(members, "certProvProtocolID");
                URI uri = uri(requiredString(members, "URI"));
                CertSubjectType type = CertSubjectType.fromCode(requiredInteger(members, "certSubjectType"));
                String subjectId = requiredString(members, "certSubjectID");
                return new MefCommand(enroleeId, Kind.CERT_PROV, protocol, uri, type, subjectId);
            default:
                throw new IllegalArgumentException("unknown MEF Client Command \"" + command
                        + "\" (this Enrolee knows CERT_PROV and NO_MORE_COMMANDS)");
        }
    }

    private static String requiredString(Map<String, Object> members, String name) {
        Object value = members.get(name);
        if (!(value instanceof String text) || text.isEmpty()) {
            throw new IllegalArgumentException("MEF Client Command needs a non-empty string \"" + name + "\"");
        }
        return text;
    }

    private static long requiredInteger(Map<String, Object> members, String name) {
        if (!(members.get(name) instanceof Long value)) {
            throw new IllegalArgumentException("MEF Client Command needs an integer \"" + name + "\"");
        }
        return value;
    }

    private static URI uri(String text) {
        try {
            return new URI(text);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("MEF Client Command URI is not a URI: " + e.getMessage());
        }
    }
}
