package org.mefgateway.gateway;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Every response's header block as conservative clients expect it. Names in their canonical
 * capitalisation ({@code Content-Length}, not the {@code content-length} Vert.x writes): HTTP says
 * names are case-insensitive, but deployed EST clients compare them byte for byte (libest looks
 * for {@code Content-Length} and {@code Content-Type}) and devices do not get firmware updates,
 * so the server is the one that adapts. And a {@code Date} (RFC 9110 6.6.1: a server with a clock
 * sends one). It sits in front of Netty's HTTP encoder, so every response of every listener passes
 * it, including those Vert.x writes itself.
 */
@ChannelHandler.Sharable
public final class ResponseHeaders extends ChannelOutboundHandlerAdapter {
    private static final ResponseHeaders INSTANCE = new ResponseHeaders();
    private static final String NAME = "mef-canonical-headers";
    /** Vert.x's own request handler in the pipeline; responses leave it towards the encoder. */
    private static final String VERTX_HANDLER = "handler";
    /** Names whose canonical form is not "each dash-separated word capitalised". */
    private static final Map<String, String> SPECIAL = Map.of(
            "www-authenticate", "WWW-Authenticate",
            "etag", "ETag",
            "content-md5", "Content-MD5",
            "te", "TE");

    private ResponseHeaders() {
    }

    /**
     * Puts the rewriting in front of the encoder of this connection. The pipeline is reached
     * through Vert.x's connection implementation, the only way to it: Vert.x has no option for
     * header case.
     */
    public static void install(HttpConnection connection) {
        if (connection instanceof ConnectionBase base) {
            ChannelPipeline pipeline = base.channel().pipeline();
            if (pipeline.get(NAME) == null && pipeline.get(VERTX_HANDLER) != null) {
                pipeline.addBefore(VERTX_HANDLER, NAME, INSTANCE);
            }
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response) {
            canonicalise(response.headers());
            if (!response.headers().contains("Date")) {
                response.headers().add("Date", now());
            }
        }
        super.write(ctx, msg, promise);
    }

    /** The Date of the current second, formatted once per second. */
    private record Stamp(long second, String text) {
    }

    private static volatile Stamp lastDate = new Stamp(-1, "");

    private static String now() {
        long second = System.currentTimeMillis() / 1000;
        Stamp last = lastDate;
        if (last.second() != second) {
            last = new Stamp(second, Responses.httpDate(Instant.ofEpochSecond(second)));
            lastDate = last;
        }
        return last.text();
    }

    static void canonicalise(HttpHeaders headers) {
        List<Map.Entry<String, String>> entries = headers.entries();
        if (entries.stream().allMatch(e -> e.getKey().equals(canonical(e.getKey())))) {
            return;
        }
        headers.clear();
        for (Map.Entry<String, String> e : entries) {
            headers.add(canonical(e.getKey()), e.getValue());
        }
    }

    /** {@code content-transfer-encoding} to {@code Content-Transfer-Encoding}. */
    static String canonical(String name) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        String special = SPECIAL.get(lower);
        if (special != null) {
            return special;
        }
        StringBuilder out = new StringBuilder(lower.length());
        boolean upper = true;
        for (char c : lower.toCharArray()) {
            out.append(upper ? Character.toUpperCase(c) : c);
            upper = c == '-';
        }
        return out.toString();
    }
}
