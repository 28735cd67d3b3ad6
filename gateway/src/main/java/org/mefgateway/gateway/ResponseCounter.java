package org.mefgateway.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponse;

/**
 * {@code mef_http_responses_total{listener,status_class}}: every response one listener writes,
 * by status class (1xx to 5xx). It sits in front of Netty's HTTP encoder, so it also counts the
 * answers no router sees (malformed requests, refused Transfer-Encoding, anything Vert.x writes
 * itself): the 5xx alert sees every server error of every listener. The classes are registered at
 * start, so each series exists (at 0) before its first response.
 */
@ChannelHandler.Sharable
final class ResponseCounter extends ChannelOutboundHandlerAdapter {
    /** Index 1 to 5: the status class. */
    private final Counter[] byClass = new Counter[6];

    ResponseCounter(MeterRegistry meters, String listener) {
        for (int c = 1; c <= 5; c++) {
            byClass[c] = Counter.builder("mef.http.responses")
                    .description("Responses written by each listener (est, admin, publication), by status class")
                    .tags("listener", listener, "status_class", c + "xx")
                    .register(meters);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response) {
            int c = response.status().code() / 100;
            if (c >= 1 && c <= 5) {
                byClass[c].increment();
            }
        }
        super.write(ctx, msg, promise);
    }
}
