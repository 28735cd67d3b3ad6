package org.mefgateway.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.mefgateway.gateway.TlsMaterial;

/**
 * HTTP/1.1 over TLS written byte by byte, for what a well-behaved client library will not send:
 * conflicting lengths, trickled headers, a chosen source address.
 */
final class RawHttps implements AutoCloseable {
    final SSLSocket socket;

    private RawHttps(SSLSocket socket) {
        this.socket = socket;
    }

    /** Connects from {@code localAddress} (any 127.x.y.z works on Linux loopback), presenting {@code credential} if not null. */
    static RawHttps connect(TestGateway mef, KeyStore credential, char[] password, String localAddress) throws Exception {
        return connect(mef, mef.gateway.estPort(), credential, password, localAddress);
    }

    /** To the admin listener, as the operator of {@code mef}. */
    static RawHttps operator(TestGateway mef) throws Exception {
        var data = mef.config.dataDir();
        char[] password = org.mefgateway.gateway.PrivateFiles.readPassword(data.operatorPassword());
        return connect(mef, mef.gateway.adminPort(), TlsMaterial.loadPkcs12(data.operatorKeyStore(), password), password, null);
    }

    static RawHttps connect(TestGateway mef, int port, KeyStore credential, char[] password, String localAddress) throws Exception {
        KeyManagerFactory kmf = null;
        if (credential != null) {
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(credential, password);
        }
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf == null ? null : kmf.getKeyManagers(), TlsMaterial.trustManagers(List.of(mef.caCertificate)).getTrustManagers(), null);
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
        if (localAddress != null) {
            s.bind(new InetSocketAddress(InetAddress.getByName(localAddress), 0));
        }
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(30_000);
        s.startHandshake();
        return new RawHttps(s);
    }

    static RawHttps connect(TestGateway mef, DeviceMaker.Device device) throws Exception {
        return connect(mef, device == null ? null : device.keyStore(), DeviceMaker.Device.PASSWORD, null);
    }

    RawHttps send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    RawHttps send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return this;
    }

    /** Everything the server sends until it closes the connection (or 30 s pass without a byte). */
    String readAll() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) != -1; ) {
                out.write(buf, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new IOException("the server neither answered nor closed the connection within 30 s; got so far: "
                    + out.toString(StandardCharsets.ISO_8859_1), e);
        } catch (IOException e) {
            // reset by the server: what it sent before is the answer
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    /** What the server sends within {@code millis} (empty if nothing): for a request the server may hold. */
    String readWithin(int millis) throws IOException {
        socket.setSoTimeout(millis);
        byte[] buf = new byte[8192];
        try {
            int n = socket.getInputStream().read(buf);
            return n < 0 ? "" : new String(buf, 0, n, StandardCharsets.ISO_8859_1);
        } catch (SocketTimeoutException e) {
            return "";
        } finally {
            socket.setSoTimeout(30_000);
        }
    }

    /** The status codes of every response in {@code text}, in order. */
    static List<Integer> statuses(String text) {
        return java.util.regex.Pattern.compile("HTTP/1\\.[01] (\\d{3})").matcher(text).results()
                .map(m -> Integer.parseInt(m.group(1))).toList();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
