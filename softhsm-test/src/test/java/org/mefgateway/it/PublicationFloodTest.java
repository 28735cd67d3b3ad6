package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mefgateway.gateway.admin.AdminClient;

/**
 * The publication listener (plain HTTP, anonymous: CRL and OCSP) under connection floods, with
 * the guards of the EST listener: a connection cap of its own (here est.maxConnections: 200) and
 * the header deadline (here est.requestTimeoutSeconds: 15). A slowloris flood of 1,000
 * connections trickling header lines, and a flood of idle connections: what is beyond the cap is
 * closed at once, the rest at the header deadline, nothing is answered, and meanwhile the admin
 * listener's readiness probe and EST cacerts answer (each listener counts its own connections).
 * Before, the listener had neither: 1,000 slowloris connections were all still held after 60 s.
 * The figures are printed before the assertions, so a run against an unguarded listener shows them.
 */
class PublicationFloodTest {
    static final int MAX_CONNECTIONS = 200;
    static final int HEADER_DEADLINE_SECONDS = 15;
    /** How long the flood is watched at most: four header deadlines. */
    static final long WATCH_NANOS = TimeUnit.SECONDS.toNanos(60);
    static TestGateway mef;

    @BeforeAll
    static void start() throws Exception {
        mef = TestGateway.startWithEst("maxConnections: " + MAX_CONNECTIONS + ", requestTimeoutSeconds: " + HEADER_DEADLINE_SECONDS,
                Map.of("default.yaml", TestGateway.DEFAULT_PROFILE), DeviceMaker.create("Flood Maker CA"));
    }

    @AfterAll
    static void stop() {
        mef.close();
    }

    /**
     * Many plain TCP connections driven from one thread without blocking: what each receives, and
     * which ones the server has closed (end of stream or reset).
     */
    static final class Flood implements AutoCloseable {
        final List<SocketChannel> channels = new ArrayList<>();
        final Set<SocketChannel> closedByServer = new HashSet<>();
        final Set<SocketChannel> answered = new HashSet<>();
        final Selector selector = Selector.open();
        final ByteBuffer buffer = ByteBuffer.allocate(8192);

        Flood(int port, int connections) throws IOException {
            for (int i = 0; i < connections; i++) {
                SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
                c.configureBlocking(false);
                c.register(selector, SelectionKey.OP_READ);
                channels.add(c);
            }
        }

        /** Sends {@code text} on every connection the server has not closed. */
        void send(String text) throws IOException {
            for (SocketChannel c : channels) {
                if (!closedByServer.contains(c)) {
                    try {
                        c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)));
                    } catch (IOException reset) {
                        closedByServer.add(c);
                    }
                }
            }
            poll();
        }

        /** Takes note of what arrived: bytes (an answer) or the end of the connection. */
        void poll() throws IOException {
            selector.selectNow();
            for (SelectionKey key : selector.selectedKeys()) {
                SocketChannel c = (SocketChannel) key.channel();
                buffer.clear();
                int n;
                try {
                    n = c.read(buffer);
                } catch (IOException reset) {
                    n = -1;
                }
                if (n > 0) {
                    answered.add(c);
                } else if (n < 0) {
                    closedByServer.add(c);
                    key.cancel();
                }
            }
            selector.selectedKeys().clear();
        }

        int open() {
            return channels.size() - closedByServer.size();
        }

        /** Polls (every 100 ms) until at most {@code count} connections are open or {@code deadline} (System.nanoTime) passes. */
        int awaitOpenAtMost(int count, long deadline) throws Exception {
            poll();
            while (open() > count && System.nanoTime() < deadline) {
                Thread.sleep(100);
                poll();
            }
            return open();
        }

        @Override
        public void close() throws IOException {
            for (SocketChannel c : channels) {
                c.close();
            }
            selector.close();
        }
    }

    /** GET /health/ready on the admin listener and GET cacerts on the EST listener, each on a new connection. */
    static List<Integer> otherListeners() throws Exception {
        int ready = new AdminClient(mef.config).get("/health/ready").statusCode();
        int cacerts = TestGateway.get(mef.client(null), mef.est("/cacerts")).statusCode();
        return List.of(ready, cacerts);
    }

    /**
     * GET of the CRL on a connection of its own that the server closes after answering: no
     * connection of this test outlives it to count against the cap in the next test.
     */
    static int crl() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", mef.gateway.publicationPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write("GET /crl/ca.crl HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            return RawHttps.statuses(answer).get(0);
        }
    }

    static double seconds(long sinceNanos) {
        return Math.round((System.nanoTime() - sinceNanos) / 1e8) / 10.0;
    }

    @Test
    void aSlowlorisFloodIsCutToTheCapAtOnceAndClosedAtTheHeaderDeadlineWhileTheOtherListenersServe() throws Exception {
        int connections = 1000;
        long start = System.nanoTime();
        try (Flood flood = new Flood(mef.gateway.publicationPort(), connections)) {
            flood.send("GET /crl/ca.crl HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            int afterCap = flood.awaitOpenAtMost(MAX_CONNECTIONS, start + TimeUnit.SECONDS.toNanos(10));
            double capSeconds = seconds(start);
            List<Integer> during = otherListeners();
            // One more header line a second on every connection still open: never idle, never complete.
            long deadline = start + WATCH_NANOS;
            while (flood.open() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(1000);
                flood.send("X-Trickle: " + System.nanoTime() + "\r\n");
            }
            System.out.printf("slowloris on the publication listener, %d connections trickling a header line every second: "
                            + "%d open %.1f s after connecting (cap %d), readiness and EST cacerts during the flood %s, "
                            + "%d held %.1f s after connecting (header deadline %d s), %d answered%n",
                    connections, afterCap, capSeconds, MAX_CONNECTIONS, during, flood.open(), seconds(start), HEADER_DEADLINE_SECONDS,
                    flood.answered.size());
            assertEquals(MAX_CONNECTIONS, afterCap, "the cap closes every connection beyond it at once");
            assertEquals(List.of(200, 200), during, "readiness and EST cacerts answer during the flood");
            assertEquals(0, flood.open(), "the header deadline closes the rest");
            assertEquals(0, flood.answered.size(), "closed without an answer");
        }
        assertEquals(200, crl(), "the CRL is served once the flood is gone");
    }

    @Test
    void idleConnectionsBeyondTheCapAreClosedAtOnceAndTheRestAtTheHeaderDeadline() throws Exception {
        int connections = MAX_CONNECTIONS + 50;
        long start = System.nanoTime();
        try (Flood flood = new Flood(mef.gateway.publicationPort(), connections)) {
            int afterCap = flood.awaitOpenAtMost(MAX_CONNECTIONS, start + TimeUnit.SECONDS.toNanos(10));
            double capSeconds = seconds(start);
            List<Integer> during = otherListeners();
            flood.awaitOpenAtMost(0, start + WATCH_NANOS);
            System.out.printf("idle connections to the publication listener: %d opened, %d open %.1f s after connecting (cap %d), "
                            + "readiness and EST cacerts meanwhile %s, %d held %.1f s after connecting (header deadline %d s), %d answered%n",
                    connections, afterCap, capSeconds, MAX_CONNECTIONS, during, flood.open(), seconds(start), HEADER_DEADLINE_SECONDS,
                    flood.answered.size());
            assertEquals(MAX_CONNECTIONS, afterCap, "the cap closes every connection beyond it at once");
            assertEquals(List.of(200, 200), during, "readiness and EST cacerts answer meanwhile");
            assertEquals(0, flood.open(), "the header deadline closes idle connections too");
            assertEquals(0, flood.answered.size(), "closed without an answer");
        }
        assertEquals(200, crl(), "the CRL is served once the flood is gone");
    }
}
