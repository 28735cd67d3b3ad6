package org.mefgateway.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.impl.ConnectionBase;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connection-level limits Vert.x has no option for: at most {@code maxConnections} open
 * connections (one more is closed as soon as it is established), and a deadline for the request
 * headers (a slow-loris client trickling a header byte now and then is closed once
 * {@code headerTimeout} has passed since it connected or since its previous response). Malformed
 * requests that never reach the router (line or headers too long, conflicting lengths, an HTTP
 * version other than 1.0 and 1.1, Transfer-Encoding, a malformed percent escape in the path) get a one-line text/plain reason like every other refusal, and
 * the connection is closed. Every response of the listener is counted by status class
 * ({@link ResponseCounter}), those Vert.x writes itself included. One guard per listener: each
 * counts its own connections, so a flood on one leaves the others alone.
 */
public final class ConnectionGuard {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);
    /** A '%' not followed by two hexadecimal digits. */
    private static final Pattern MALFORMED_ESCAPE = Pattern.compile("%(?![0-9A-Fa-f]{2})");

    private final Vertx vertx;
    /** est, admin or publication: in log lines and the response counter's listener label. */
    private final String listener;
    private final ResponseCounter responses;
    private final int maxConnections;
    private final Duration headerTimeout;
    private final AtomicInteger open = new AtomicInteger();
    /**
     * Connections answered with "Connection: close" whose close is under way: a request already
     * pipelined behind (or an unread body parsed as one) is not served.
     */
    private static final Set<HttpConnection> CLOSING = ConcurrentHashMap.newKeySet();
    /** The header deadline of each connection that is between requests. */
    private final Map<HttpConnection, Long> waiting = new ConcurrentHashMap<>();

    ConnectionGuard(Vertx vertx, String listener, int maxConnections, Duration headerTimeout, MeterRegistry meters) {
        this.vertx = vertx;
        this.listener = listener;
        this.responses = new ResponseCounter(meters, listener);
        this.maxConnections = maxConnections;
        this.headerTimeout = headerTimeout;
    }

    /** Installs the guard on {@code server} in front of {@code requests}. */
    HttpServer install(HttpServer server, Handler<HttpServerRequest> requests) {
        return server.connectionHandler(this::connected)
                .invalidRequestHandler(ConnectionGuard::invalid)
                .requestHandler(request -> {
                    HttpConnection connection = request.connection();
                    if (CLOSING.contains(connection)) {
                        connection.close();
                        return;
                    }
                    cancelDeadline(connection);
                    // bodyEndHandler, not endHandler: Vert.x Web takes the latter for its own end handlers.
                    request.response().bodyEndHandler(v -> startDeadline(connection));
                    if (request.headers().contains("Transfer-Encoding")) {
                        refuseChunked(request);
                        return;
                    }
                    if (request.path() != null && MALFORMED_ESCAPE.matcher(request.path()).find()) {
                        // Vert.x Web would throw on it while matching routes and log the stack trace.
                        refuse(request, 400, "a malformed percent escape in the path",
                                "a '%' in the path starts two hexadecimal digits (RFC 3986 2.1)\n");
                        return;
                    }
                    requests.handle(request);
                });
    }

    /**
     * RFC 9112 6.1 and 6.3: a request with both Transfer-Encoding and Content-Length is the stuff
     * of request smuggling (Netty drops the Content-Length and reads chunks, a proxy in front may
     * read the length), and no EST client needs chunked uploads (RFC 7030 bodies are small and
     * sent whole). So any Transfer-Encoding is refused with 411 Length Required and the connection
     * closed before a byte of the body is read as a request of its own.
     */
    private static void refuseChunked(HttpServerRequest request) {
        refuse(request, 411, "Transfer-Encoding", "send the body with a Content-Length, without Transfer-Encoding\n");
    }

    /** Answers {@code status} with {@code reason} before the router sees the request, then closes the connection. */
    private static void refuse(HttpServerRequest request, int status, String what, String reason) {
        LOG.info("refused a request with {} from {}: {}", what, request.remoteAddress(), status);
        closeAfter(request.connection());
        Responses.end(request.response().setStatusCode(status).putHeader("Connection", "close"), "text/plain; charset=utf-8", reason)
                .onComplete(sent -> close(request.connection()));
    }

    /** Serves no further request on {@code connection}; the caller answers the current one, then calls {@link #close}. */
    public static void closeAfter(HttpConnection connection) {
        CLOSING.add(connection);
    }

    /** Closes a connection marked by {@link #closeAfter} (on any listener) and forgets it. */
    public static void close(HttpConnection connection) {
        connection.close().onComplete(closed -> CLOSING.remove(connection));
    }

    /** How long the rest of a refused request's body is read and discarded before its connection is closed anyway. */
    static final long LINGER_MILLIS = 2_000;

    /**
     * Closes a connection marked by {@link #closeAfter} once the answered request's body has
     * arrived, read and discarded, or after {@link #LINGER_MILLIS} (a lingering close, as Apache
     * and nginx do). Closing with unread bytes makes the kernel send a reset, which can destroy the
     * answer before the client reads it: most clients send a small body with its headers without
     * waiting, so a 401 answered before the body was read would reach them as "connection reset".
     * The body is never read for the request: the linger costs a connection (within the listener's
     * cap) for 2 s at most, no enrolment slot.
     */
    public static void closeAfterBody(Vertx vertx, HttpServerRequest request) {
        HttpConnection connection = request.connection();
        if (request.isEnded()) {
            close(connection);
            return;
        }
        long linger = vertx.setTimer(LINGER_MILLIS, t -> close(connection));
        try {
            request.handler(discarded -> { })
                    .exceptionHandler(failure -> close(connection))
                    .endHandler(ended -> {
                        vertx.cancelTimer(linger);
                        close(connection);
                    })
                    .resume();
        } catch (IllegalStateException alreadyRead) {
            vertx.cancelTimer(linger);
            close(connection);
        }
    }

    private void connected(HttpConnection connection) {
        ResponseHeaders.install(connection);
        inFrontOfVertx(connection, "mef-http-version", HttpVersionCheck.INSTANCE);
        inFrontOfVertx(connection, "mef-response-counter", responses);
        int now = open.incrementAndGet();
        connection.closeHandler(v -> {
            open.decrementAndGet();
            cancelDeadline(connection);
            CLOSING.remove(connection);
        });
        if (now > maxConnections) {
            LOG.warn("connection to the {} listener from {} closed: {} connections are open (est.maxConnections)", listener,
                    connection.remoteAddress(), now - 1);
            connection.close();
            return;
        }
        startDeadline(connection);
    }

    /**
     * Puts {@code handler} between Netty's HTTP codec and Vert.x's request handler: it sees every
     * decoded request before Vert.x does and every response Vert.x writes. The pipeline is reached
     * through Vert.x's connection implementation, as in {@link ResponseHeaders#install}.
     */
    private static void inFrontOfVertx(HttpConnection connection, String name, ChannelHandler handler) {
        if (connection instanceof ConnectionBase base) {
            ChannelPipeline pipeline = base.channel().pipeline();
            if (pipeline.get(name) == null && pipeline.get("handler") != null) {
                pipeline.addBefore("handler", name, handler);
            }
        }
    }

    private void startDeadline(HttpConnection connection) {
        long timer = vertx.setTimer(headerTimeout.toMillis(), t -> {
            if (waiting.remove(connection) != null) {
                connection.close();
            }
        });
        Long previous = waiting.put(connection, timer);
        if (previous != null) {
            vertx.cancelTimer(previous);
        }
    }

    private void cancelDeadline(HttpConnection connection) {
        Long timer = waiting.remove(connection);
        if (timer != null) {
            vertx.cancelTimer(timer);
        }
    }

    /** Open connections right now (for tests and metrics). */
    int open() {
        return open.get();
    }

    /**
     * What Netty could not parse as one HTTP/1.1 request, or a version other than HTTP/1.1 and
     * 1.0: 414, 431 or 400, then the connection is closed.
     */
    static void invalid(HttpServerRequest request) {
        if (CLOSING.contains(request.connection())) {
            // Pipelined behind a request that was refused: its connection is being closed.
            request.connection().close();
            return;
        }
        Throwable cause = request.decoderResult().cause();
        int status;
        String reason;
        if (cause instanceof HttpVersionCheck.Unsupported unsupported) {
            status = 400;
            reason = unsupported.getMessage();
        } else if (cause instanceof TooLongHttpLineException) {
            status = 414;
            reason = "the request line is too long";
        } else if (cause instanceof TooLongHttpHeaderException) {
            status = 431;
            reason = "the request headers are too large";
        } else {
            status = 400;
            reason = "malformed HTTP request";
        }
        LOG.info("refused a malformed HTTP request from {}: {} {}", request.remoteAddress(), status,
                LogText.safe(cause == null ? "" : cause.getMessage()));
        closeAfter(request.connection());
        Responses.end(request.response().setStatusCode(status).putHeader("Connection", "close"), "text/plain; charset=utf-8",
                        reason + "\n")
                .onComplete(sent -> close(request.connection()));
    }
}
