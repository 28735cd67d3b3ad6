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

    /**
     * A TLS 1.3 connection to {@code port} that presents the one key entry of {@code credential}
     * whatever CAs the server asks for (the JDK's key manager offers only a certificate of an issuer
     * the server names), as a hostile or misconfigured client would. It returns once the client's
     * side of the handshake is done: in TLS 1.3 the server judges the client certificate after
     * that, so a refusal arrives as a fatal alert on the first read.
     */
    static RawHttps presenting(TestGateway mef, int port, KeyStore credential, char[] password) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(credential, password);
        javax.net.ssl.X509KeyManager keys = (javax.net.ssl.X509KeyManager) kmf.getKeyManagers()[0];
        List<String> aliases = java.util.Collections.list(credential.aliases());
        if (aliases.size() != 1) {
            throw new IllegalArgumentException("one key entry expected, not " + aliases);
        }
        String alias = aliases.get(0);
        javax.net.ssl.X509ExtendedKeyManager always = new javax.net.ssl.X509ExtendedKeyManager() {
            @Override
            public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
                return alias;
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
                return alias;
            }

            @Override
            public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
                return new String[] {alias};
            }

            @Override
            public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
                return null;
            }

            @Override
            public java.security.cert.X509Certificate[] getCertificateChain(String a) {
                return keys.getCertificateChain(a);
            }

            @Override
            public java.security.PrivateKey getPrivateKey(String a) {
                return keys.getPrivateKey(a);
            }
        };
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(new javax.net.ssl.KeyManager[] {always}, TlsMaterial.trustManagers(List.of(mef.caCertificate)).getTrustManagers(), null);
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
        s.setEnabledProtocols(new String[] {"TLSv1.3"});
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

    /**
     * The rest of one response whose first bytes ({@code start}) were read: up to the end of its
     * Content-Length body, for a response on a connection the server keeps open (30 s at most).
     */
    String readRestOfResponse(String start) throws IOException {
        StringBuilder answer = new StringBuilder(start);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!complete(answer.toString()) && System.nanoTime() < deadline) {
            answer.append(readWithin(100));
        }
        return answer.toString();
    }

    private static boolean complete(String response) {
        int end = response.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)\r\n")
                .matcher(response.substring(0, end + 2));
        return length.find() && response.length() >= end + 4 + Integer.parseInt(length.group(1));
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
