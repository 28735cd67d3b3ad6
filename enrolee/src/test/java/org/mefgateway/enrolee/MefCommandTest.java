package org.mefgateway.enrolee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class MefCommandTest {
    @Test
    void parsesCertProv() {
        MefCommand command = MefCommand.parse("""
                {"enroleeId":"dev-1","command":"CERT_PROV","certProvProtocolID":"EST",
                 "URI":"https://127.0.0.1:8443/.well-known/est","certSubjectType":3,
                 "certSubjectID":"\\/\\/m2m.example.com\\/CSE3219\\/C9886"}
                """);

        assertEquals(new MefCommand("dev-1", MefCommand.Kind.CERT_PROV, "EST",
                URI.create("https://127.0.0.1:8443/.well-known/est"), CertSubjectType.AE_ID,
                "//m2m.example.com/CSE3219/C9886"), command);
    }

    @Test
    void parsesNoMoreCommands() {
        MefCommand command = MefCommand.parse("{ \"enroleeId\" : \"dev-1\", \"command\" : \"NO_MORE_COMMANDS\" }");

        assertEquals("dev-1", command.enroleeId());
        assertEquals(MefCommand.Kind.NO_MORE_COMMANDS, command.command());
        assertNull(command.certSubjectID());
    }

    @Test
    void ignoresMembersItDoesNotUse() {
        MefCommand command = MefCommand.parse("{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\",\"since\":17}");

        assertEquals(MefCommand.Kind.NO_MORE_COMMANDS, command.command());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "[]",
            "{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\"",
            "{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\"} x",
            "{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\",}",
            "{\"enroleeId\":\"dev-1\",\"enroleeId\":\"dev-2\",\"command\":\"NO_MORE_COMMANDS\"}",
            "{\"enroleeId\":\"dev-1\",\"command\":{\"x\":1}}",
            "{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\",\"n\":1.5}",
            "{\"enroleeId\":\"dev-1\",\"command\":\"NO_MORE_COMMANDS\",\"b\":true}",
            "{'enroleeId':'dev-1'}",
    })
    void rejectsMalformedJson(String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MefCommand.parse(json));
        assertTrue(e.getMessage().startsWith("malformed JSON at offset"), e.getMessage());
    }

    @Test
    void rejectsMissingMembersUnknownCommandsAndSubjectTypes() {
        assertThrows(IllegalArgumentException.class, () -> MefCommand.parse("{\"command\":\"NO_MORE_COMMANDS\"}"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> MefCommand.parse("{\"enroleeId\":\"dev-1\",\"command\":\"REBOOT\"}"));
        assertTrue(unknown.getMessage().contains("unknown MEF Client Command \"REBOOT\""), unknown.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> MefCommand.parse(
                "{\"enroleeId\":\"dev-1\",\"command\":\"CERT_PROV\",\"certProvProtocolID\":\"EST\",\"URI\":\"https://h/\","
                        + "\"certSubjectType\":7,\"certSubjectID\":\"x\"}"));
        assertTrue(type.getMessage().contains("certSubjectType 7"), type.getMessage());
        IllegalArgumentException typeAsString = assertThrows(IllegalArgumentException.class, () -> MefCommand.parse(
                "{\"enroleeId\":\"dev-1\",\"command\":\"CERT_PROV\",\"certProvProtocolID\":\"EST\",\"URI\":\"https://h/\","
                        + "\"certSubjectType\":\"3\",\"certSubjectID\":\"x\"}"));
        assertTrue(typeAsString.getMessage().contains("integer \"certSubjectType\""), typeAsString.getMessage());
    }
}
