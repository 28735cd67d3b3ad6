package org.mefgateway.gateway;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Requests whose version is neither HTTP/1.1 nor HTTP/1.0 ({@code HTTP/9.9}, the
 * {@code PRI * HTTP/2.0} preface of HTTP/2 with prior knowledge, {@code http/1.1} in lower case)
 * are marked as requests Netty could not decode, so the listener's invalid-request handler
 * answers them like any other malformed request (400, a one-line reason, the connection
 * closed). Without this, Vert.x answers them 501 Not Implemented itself, before any handler of
 * ours, with a status line in the client's made-up version: a 5xx for a client's error.
 */
@ChannelHandler.Sharable
final class HttpVersionCheck extends ChannelInboundHandlerAdapter {
    static final HttpVersionCheck INSTANCE = new HttpVersionCheck();

    private HttpVersionCheck() {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        // Vert.x serves a request only when its version is one of these two instances: the
        // decoder returns them for exactly "HTTP/1.1" and "HTTP/1.0", anything else is a new object.
        if (msg instanceof HttpRequest request && request.decoderResult().isSuccess()
                && request.protocolVersion() != HttpVersion.HTTP_1_1 && request.protocolVersion() != HttpVersion.HTTP_1_0) {
            Unsupported refusal = new Unsupported(request.protocolVersion());
            // The answer's status line is HTTP/1.1, the version this server speaks (RFC 9110 2.5).
            request.setProtocolVersion(HttpVersion.HTTP_1_1);
            request.setDecoderResult(DecoderResult.failure(refusal));
        }
        super.channelRead(ctx, msg);
    }

    /**
     * Refused with 400, not 505 HTTP Version Not Supported: 505 is a 5xx, and the 5xx alert
     * (mef_http_responses_total) would then fire for whoever sends {@code HTTP/9.9} in a loop.
     * The reason says which versions are served.
     */
    static final class Unsupported extends Exception {
        Unsupported(HttpVersion version) {
            super(version.majorVersion() == 1
                    ? "malformed HTTP version: it must be exactly HTTP/1.1 or HTTP/1.0 (RFC 9112 2.3)"
                    : LogText.safe(version.text()) + " is not served here: only HTTP/1.1 and HTTP/1.0", null, false, false);
        }
    }
}
