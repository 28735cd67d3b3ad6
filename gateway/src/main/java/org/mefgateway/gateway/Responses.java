package org.mefgateway.gateway;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * How every listener ends a response with a body: its type and an explicit Content-Length. Vert.x
 * computes Content-Length itself except for HEAD, where it sends none; RFC 9110 9.3.2 wants a HEAD
 * answered with the headers of the GET, and a client sizing its read by Content-Length needs it.
 */
public final class Responses {
    /** RFC 9110 5.6.7 IMF-fixdate: two-digit day, GMT (RFC_1123_DATE_TIME writes "4 Dec"). */
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

    private Responses() {
    }

    /** An HTTP-date (Date, Last-Modified). */
    public static String httpDate(Instant instant) {
        return HTTP_DATE.format(instant.atOffset(ZoneOffset.UTC));
    }

    public static Future<Void> end(HttpServerResponse response, String contentType, String body) {
        return end(response, contentType, Buffer.buffer(body));
    }

    public static Future<Void> end(HttpServerResponse response, String contentType, Buffer body) {
        return response.putHeader("Content-Type", contentType)
                .putHeader("Content-Length", String.valueOf(body.length()))
                .end(body);
    }
}
