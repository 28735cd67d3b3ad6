package org.mefgateway.enrolee;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSSignedData;

/**
 * The Enrolee's side of EST (RFC 7030 + RFC 8951) and of the MEF Client Command, over mutual TLS.
 *
 * <p>The Enrolee authenticates with its TLS client certificate only: TS-0003 8.3.6.2.1 forbids
 * HTTP authentication. The server is authenticated against exactly the trust anchors this client
 * was built with, and HTTPS hostname verification stays on. Every non-success answer becomes an
 * {@link EstException} with the server's status and reason; transport failures and answers that do
 * not follow the contract become {@link Failure#UNAVAILABLE}.
 *
 * <p>Instances are immutable; {@link #withTrustAnchors(List)} makes the client for the requests that
 * follow the installation of new trust anchors (step 3).
 */
public final class EstClient {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /** RFC 7030 3.2.2: a label is one path segment. */
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9._~-]+");
    private static final int MAX_REASON_CHARS = 500;

    private final URI mef;
    private final String label;
    private final KeyStore clientCredential;
    private final char[] clientPassword;
    private final HttpClient http;

    /**
     * @param mef              the MEF's base URL, {@code https://HOST:PORT}
     * @param label            the EST label (RFC 7030 3.2.2), or null for the default CA
     * @param clientCredential the bootstrap credential: a key store holding the TLS client key and chain
     * @param clientPassword   the password of that key entry
     * @param trustAnchors     the only certificates trusted to authenticate the MEF's TLS server
     * @throws IllegalArgumentException if the URL or label is unusable, or the credential cannot be used
     */
    public EstClient(URI mef, String label, KeyStore clientCredential, char[] clientPassword,
                     List<X509Certificate> trustAnchors) {
        this.mef = checkedBase(mef);
        if (label != null && !LABEL.matcher(label).matches()) {
            throw new IllegalArgumentException("EST label \"" + label + "\" is not a single path segment");
        }
        this.label = label;
        this.clientCredential = clientCredential;
        this.clientPassword = clientPassword.clone();
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .sslContext(sslContext(clientCredential, clientPassword, trustAnchors))
                .sslParameters(tlsParameters())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** The same client, now trusting only {@code trustAnchors} (TS-0003 8.3.6.2.1 explicit trust anchor database). */
    public EstClient withTrustAnchors(List<X509Certificate> trustAnchors) {
        return new EstClient(mef, label, clientCredential, clientPassword, trustAnchors);
    }

    /** The EST base: {@code https://HOST:PORT/.well-known/est[/label]} (RFC 7030 3.2.2). */
    public URI estBase() {
        return mef.resolve("/.well-known/est" + (label == null ? "" : "/" + label));
    }

    /** Reads the pending MEF Client Command: {@code GET /mef/command}. */
    public MefCommand command() throws EnrolmentException {
        HttpResponse<byte[]> response = send("/mef/command", get(mef.resolve("/mef/command"), "application/json"));
        expectStatus("/mef/command", response, 200);
        expectContentType("/mef/command", response, "application/json");
        try {
            return MefCommand.parse(new String(response.body(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw malformed("/mef/command", e);
        }
    }

    /** RFC 7030 4.1: the CA certificates, from a certs-only CMS SignedData. */
    public List<X509Certificate> cacerts() throws EnrolmentException {
        HttpResponse<byte[]> response = send("/cacerts", get(est("/cacerts"), "application/pkcs7-mime"));
        expectStatus("/cacerts", response, 200);
        expectContentType("/cacerts", response, "application/pkcs7-mime");
        return certsOnly("/cacerts", response.body());
    }

    /**
     * RFC 7030 4.5 / RFC 8951: the CSR attributes the MEF requires.
     *
     * @return empty if the MEF answered 204 (no attributes)
     */
    public Optional<CsrAttributes> csrattrs() throws EnrolmentException {
        HttpResponse<byte[]> response = send("/csrattrs", get(est("/csrattrs"), "application/csrattrs"));
        if (response.statusCode() == 204) {
            return Optional.empty();
        }
        expectStatus("/csrattrs", response, 200);
        expectContentType("/csrattrs", response, "application/csrattrs");
        try {
            return Optional.of(CsrAttributes.parse(decodeBase64("/csrattrs", response.body())));
        } catch (IllegalArgumentException e) {
            throw malformed("/csrattrs", e);
        }
    }

    /**
     * RFC 7030 4.2.1: sends the CSR; returns the certificates of the certs-only answer (the issued
     * certificate, possibly with CA certificates, in no guaranteed order).
     *
     * @throws EstException with {@link Failure#PENDING} and Retry-After when the MEF answers 202,
     *                      with the status and Retry-After for 4xx and 5xx (e.g. 429, 503)
     */
    public List<X509Certificate> simpleEnroll(byte[] csrDer) throws EnrolmentException {
        return enroll("/simpleenroll", csrDer);
    }

    /**
     * RFC 7030 4.2.2: re-enrolment. Same body and answers as {@link #simpleEnroll(byte[])}; the
     * TLS client certificate of this client must be the certificate being renewed, and the CSR's
     * subject and subjectAltName must be identical to it.
     */
    public List<X509Certificate> simpleReenroll(byte[] csrDer) throws EnrolmentException {
        return enroll("/simplereenroll", csrDer);
    }

    private List<X509Certificate> enroll(String operation, byte[] csrDer) throws EnrolmentException {
        HttpRequest request = HttpRequest.newBuilder(est(operation))
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/pkcs10")
                .header("Accept", "application/pkcs7-mime")
                .POST(HttpRequest.BodyPublishers.ofString(Base64.getEncoder().encodeToString(csrDer),
                        StandardCharsets.US_ASCII))
                .build();
        HttpResponse<byte[]> response = send(operation, request);
        expectStatus(operation, response, 200);
        expectContentType(operation, response, "application/pkcs7-mime");
        return certsOnly(operation, response.body());
    }

    /**
     * RFC 8951: the body is base64 of DER; the receiver tolerates whitespace (CR, LF, space, tab)
     * anywhere and ignores Content-Transfer-Encoding. Any other non-base64 character is an error.
     *
     * @throws IllegalArgumentException if what remains is not base64
     */
    static byte[] decodeBase64(String body) {
        StringBuilder compact = new StringBuilder(body.length());
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c != '\r' && c != '\n' && c != ' ' && c != '\t') {
                compact.append(c);
            }
        }
        return Base64.getDecoder().decode(compact.toString());
    }

    private static byte[] decodeBase64(String operation, byte[] body) throws EnrolmentException {
        try {
            return decodeBase64(new String(body, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new EnrolmentException(Failure.UNAVAILABLE,
                    "MEF sent a " + operation + " body that is not base64: " + e.getMessage(), e);
        }
    }

    private static List<X509Certificate> certsOnly(String operation, byte[] body) throws EnrolmentException {
        byte[] der = decodeBase64(operation, body);
        try {
            JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
            List<X509Certificate> certificates = new ArrayList<>();
            for (X509CertificateHolder holder : new CMSSignedData(der).getCertificates().getMatches(null)) {
                certificates.add(converter.getCertificate(holder));
            }
            if (certificates.isEmpty()) {
                throw new EnrolmentException(Failure.UNAVAILABLE, "MEF sent a " + operation + " answer without certificates");
            }
            return certificates;
        } catch (CMSException | CertificateException | RuntimeException e) {
            throw new EnrolmentException(Failure.UNAVAILABLE,
                    "MEF sent a " + operation + " body that is not a certs-only CMS SignedData: " + e.getMessage(), e);
        }
    }

    private HttpRequest get(URI uri, String accept) {
        return HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header("Accept", accept).GET().build();
    }

    private URI est(String operation) {
        return URI.create(estBase() + operation);
    }

    private HttpResponse<byte[]> send(String operation, HttpRequest request) throws EnrolmentException {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (SSLHandshakeException e) {
            throw new EnrolmentException(Failure.UNAVAILABLE,
                    "TLS handshake with " + request.uri().getAuthority() + " failed for " + operation + ": " + rootMessage(e), e);
        } catch (ConnectException e) {
            throw new EnrolmentException(Failure.UNAVAILABLE,
                    "cannot connect to the MEF at " + request.uri().getAuthority() + " (refused or unreachable)", e);
        } catch (HttpTimeoutException e) {
            throw new EnrolmentException(Failure.UNAVAILABLE, "MEF did not answer " + operation + " in time: " + rootMessage(e), e);
        } catch (IOException e) {
            throw new EnrolmentException(Failure.UNAVAILABLE, operation + " failed: " + rootMessage(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnrolmentException(Failure.UNAVAILABLE, operation + " interrupted", e);
        }
    }

    private static void expectStatus(String operation, HttpResponse<byte[]> response, int expected) throws EstException {
        if (response.statusCode() != expected) {
            throw new EstException(operation, response.statusCode(), reason(response.body()), retryAfter(response));
        }
    }

    /** A wrong media type usually means something other than the MEF answered (a proxy's error page). */
    private static void expectContentType(String operation, HttpResponse<byte[]> response, String expected)
            throws EnrolmentException {
        String contentType = response.headers().firstValue("Content-Type").orElse("");
        String mediaType = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!mediaType.equals(expected)) {
            throw new EnrolmentException(Failure.UNAVAILABLE, "MEF answered " + operation + " with Content-Type \""
                    + contentType + "\", expected " + expected);
        }
    }

    private static EnrolmentException malformed(String operation, IllegalArgumentException e) {
        return new EnrolmentException(Failure.UNAVAILABLE, "MEF sent a malformed " + operation + " answer: " + e.getMessage(), e);
    }

    /** The server's text/plain reason, made one line and bounded so it fits an error message. */
    private static String reason(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8).replaceAll("[\\r\\n\\t]+", " ").trim();
        return text.length() > MAX_REASON_CHARS ? text.substring(0, MAX_REASON_CHARS) + "..." : text;
    }

    /** Retry-After is delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
    private static Duration retryAfter(HttpResponse<?> response) {
        Optional<String> value = response.headers().firstValue("Retry-After").map(String::trim);
        if (value.isEmpty()) {
            return null;
        }
        try {
            return Duration.ofSeconds(Long.parseLong(value.get()));
        } catch (NumberFormatException notSeconds) {
            try {
                Duration until = Duration.between(ZonedDateTime.now(),
                        ZonedDateTime.parse(value.get(), DateTimeFormatter.RFC_1123_DATE_TIME));
                return until.isNegative() ? Duration.ZERO : until;
            } catch (DateTimeParseException notDate) {
                return null;
            }
        }
    }

    /** TLS 1.2 minimum, 1.3 preferred (DESIGN.md 1); the JDK's default suites are ECDHE/AEAD first. */
    private static SSLParameters tlsParameters() {
        SSLParameters parameters = new SSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        return parameters;
    }

    private static SSLContext sslContext(KeyStore clientCredential, char[] clientPassword,
                                         List<X509Certificate> trustAnchors) {
        if (trustAnchors.isEmpty()) {
            throw new IllegalArgumentException("no trust anchor to authenticate the MEF with");
        }
        try {
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(clientCredential, clientPassword);
            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            for (int i = 0; i < trustAnchors.size(); i++) {
                anchors.setCertificateEntry("anchor-" + i, trustAnchors.get(i));
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
            trust.init(anchors);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot set up TLS with the bootstrap credential: " + e.getMessage(), e);
        }
    }

    private static URI checkedBase(URI mef) {
        if (!"https".equalsIgnoreCase(mef.getScheme()) || mef.getHost() == null) {
            throw new IllegalArgumentException("MEF URL must be https://HOST:PORT, got " + mef);
        }
        String path = mef.getRawPath();
        if ((path != null && !path.isEmpty() && !path.equals("/")) || mef.getRawQuery() != null) {
            throw new IllegalArgumentException("MEF URL must be https://HOST:PORT without a path, got " + mef);
        }
        return URI.create("https://" + mef.getRawAuthority());
    }

    /** The innermost message of the cause chain: HttpClient wraps the useful text in message-less exceptions. */
    private static String rootMessage(Throwable e) {
        String message = null;
        for (Throwable cause = e; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause.getMessage() != null) {
                message = cause.getMessage();
            }
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
