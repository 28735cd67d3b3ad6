package org.mefgateway.gateway;

/**
 * Client-supplied text on its way into a log line: control characters (a CR/LF in a SAN would
 * forge log lines) become '?', and overlong values are cut.
 */
public final class LogText {
    private static final int MAX = 512;

    private LogText() {
    }

    public static String safe(String text) {
        if (text == null) {
            return "";
        }
        String clean = text.replaceAll("\\p{Cntrl}", "?");
        return clean.length() <= MAX ? clean : clean.substring(0, MAX) + "...";
    }
}
