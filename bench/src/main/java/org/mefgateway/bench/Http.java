package org.mefgateway.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A minimal HTTP/1.1 client on one blocking TLS connection: what a small device's EST client
 * does, and light enough that the load generator leaves most of the two cores to the gateway
 * (the JDK's HttpClient costs several times more CPU per request). One instance is one
 * connection; it is kept alive until the server says {@code Connection: close} or it is closed.
 */
final class Http implements Closeable {
    /** Conscrypt (BoringSSL) when it loads here, as the gateway's TLS runs on BoringSSL: see {@link #tlsContext}. */
    private static final Optional<Provider> NATIVE_TLS = conscrypt();
    private final SSLSocket socket;
    private final BufferedInputStream in;
    private final OutputStream out;
    private final String host;
    private boolean open = true;

    private Http(SSLSocket socket, String host) throws IOException {
        this.socket = socket;
        this.host = host;
        this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        this.out = new BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
    }

    /**
     * A TLS context for the load generator: on Conscrypt, so that its side of each handshake costs
     * native speed and the gateway, not the load generator, is the limit (JSSE where Conscrypt
     * cannot load). A context has its own session cache: one per connection means no resumption.
     */
    static SSLContext tlsContext() throws GeneralSecurityException {
        return NATIVE_TLS.isPresent() ? SSLContext.getInstance("TLS", NATIVE_TLS.get()) : SSLContext.getInstance("TLS");
    }

    /**
     * The trust for a {@link #tlsContext}: Conscrypt's own PKIX on Conscrypt, since the JDK's trust
     * manager refuses the auth type "GENERIC" that Conscrypt passes on TLS 1.3.
     */
    static TrustManagerFactory trustManagerFactory() throws GeneralSecurityException {
        return NATIVE_TLS.isPresent() ? TrustManagerFactory.getInstance("PKIX", NATIVE_TLS.get())
                : TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    }

    /** "Conscrypt" or "JSSE": the load generator's TLS. */
    static String tlsProvider() {
        return NATIVE_TLS.isPresent() ? "Conscrypt" : "JSSE";
    }

    private static Optional<Provider> conscrypt() {
        try {
            return org.conscrypt.Conscrypt.isAvailable() ? Optional.of(org.conscrypt.Conscrypt.newProvider()) : Optional.empty();
        } catch (LinkageError e) {
            return Optional.empty();
        }
    }

    /** Connects and completes the TLS handshake (the server certificate is checked against the CA and the host name). */
    static Http connect(SSLContext tls, String host, int port) throws IOException {
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), 10_000);
            s.setSoTimeout(120_000);
            SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(p);
            s.startHandshake();
            return new Http(s, host + ":" + port);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    boolean isOpen() {
        return open;
    }

    String protocol() {
        return socket.getSession().getProtocol();
    }

    record Response(int status, String retryAfter, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.ISO_8859_1);
        }
    }

    Response get(String path) throws IOException {
        return send("GET", path, null, null);
    }

    Response post(String path, String contentType, byte[] body) throws IOException {
        return send("POST", path, contentType, body);
    }

    private Response send(String method, String path, String contentType, byte[] body) throws IOException {
        StringBuilder head = new StringBuilder(160).append(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: ")
                .append(host).append("\r\n");
        if (body != null) {
            head.append("Content-Type: ").append(contentType).append("\r\nContent-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.write(body);
        }
        out.flush();
        return read();
    }

    private Response read() throws IOException {
        String status = line();
        if (!status.startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP response: " + status);
        }
        int code = Integer.parseInt(status.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        String retryAfter = null;
        for (String h = line(); !h.isEmpty(); h = line()) {
            int colon = h.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = h.substring(colon + 1).trim();
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                case "connection" -> open &= !value.equalsIgnoreCase("close");
                case "retry-after" -> retryAfter = value;
                default -> { }
            }
        }
        byte[] body;
        if (chunked) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int n = Integer.parseInt(line().split(";")[0].trim(), 16); n > 0; n = Integer.parseInt(line().split(";")[0].trim(), 16)) {
                b.write(in.readNBytes(n));
                line();
            }
            while (!line().isEmpty()) {
                // trailers
            }
            body = b.toByteArray();
        } else if (length >= 0) {
            body = in.readNBytes((int) length);
            if (body.length != length) {
                throw new EOFException("connection closed inside a response body");
            }
        } else {
            body = in.readAllBytes();
            open = false;
        }
        return new Response(code, retryAfter, body);
    }

    private String line() throws IOException {
        StringBuilder b = new StringBuilder(64);
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                open = false;
                throw new EOFException("connection closed by the server");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    @Override
    public void close() {
        open = false;
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
