package org.mefgateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.mefgateway.policy.Oids;

/** Gateway.close(): stop accepting, finish what is in flight, then close signer, store and token. */
class GracefulShutdownTest {
    static final String AE_ID = "//m2m.example.com/CSE3219/C-SHUTDOWN";

    @Test
    void anEnrolmentInFlightWhenCloseBeginsIsCompletedWhileNewConnectionsAreRefused() throws Exception {
        DeviceMaker maker = DeviceMaker.create("Shutdown Maker CA");
        TestGateway mef = TestGateway.start(maker);
        CompletableFuture<Void> closed = null;
        try {
            DeviceMaker.Device device = maker.device("shutdown-device");
            mef.register(device, "ae-shutdown", "AE-ID", AE_ID, 40);
            HttpClient client = mef.client(device);
            String challenge = TestCsr.challengeFrom(TestGateway.get(client, mef.est("/csrattrs")).body());
            byte[] csr = TestCsr.p256().subject("CN=" + AE_ID).challenge(challenge).uri(AE_ID).eku(Oids.SUID_EKU_ARC + ".40")
                    .base64().getBytes(StandardCharsets.US_ASCII);

            // Expect: 100-continue: the client sends the body only once the gateway has routed the
            // request and asked for it, so when the body is asked for, the request is in flight.
            HeldBody body = new HeldBody(csr);
            CompletableFuture<HttpResponse<String>> response = client.sendAsync(HttpRequest.newBuilder(mef.est("/simpleenroll"))
                    .timeout(Duration.ofSeconds(60)).expectContinue(true).header("Content-Type", "application/pkcs10")
                    .POST(HttpRequest.BodyPublishers.fromPublisher(body, csr.length)).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(body.asked.await(30, TimeUnit.SECONDS), "the gateway asked for the body (100 Continue)");

            // Own threads, not the common pool: on two cores it has one thread, which the held body's
            // wait occupies, and close() would not even start.
            closed = CompletableFuture.runAsync(mef::close, runnable -> new Thread(runnable, "test-close").start());
            assertTrue(refusesConnections(mef.gateway.estPort()), "the EST listener stops accepting once close() begins");
            body.release();

            HttpResponse<String> enrolled = response.get(60, TimeUnit.SECONDS);
            assertEquals(200, enrolled.statusCode(), enrolled.body());
            certificateIn(enrolled.body()).verify(mef.caCertificate.getPublicKey());
            closed.get(60, TimeUnit.SECONDS);
        } finally {
            if (closed == null) {
                mef.close();
            }
        }
    }

    /** Polls until a TCP connection to {@code port} is refused; false if it is still accepted after 20 s. */
    private static boolean refusesConnections(int port) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            } catch (ConnectException e) {
                return true;
            } catch (IOException e) {
                // not refused: try again
            }
            Thread.sleep(100);
        }
        return false;
    }

    private static X509Certificate certificateIn(String certsOnlyBase64) throws Exception {
        CMSSignedData cms = new CMSSignedData(Base64.getMimeDecoder().decode(certsOnlyBase64));
        X509CertificateHolder holder = (X509CertificateHolder) cms.getCertificates().getMatches(null).iterator().next();
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(holder.getEncoded()));
    }

    /** A request body that is sent only after {@link #release()}; {@link #asked} opens when the client starts sending it. */
    static final class HeldBody implements Flow.Publisher<ByteBuffer> {
        final CountDownLatch asked = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);
        private final byte[] bytes;

        HeldBody(byte[] bytes) {
            this.bytes = bytes;
        }

        void release() {
            released.countDown();
        }

        @Override
        public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
            subscriber.onSubscribe(new Flow.Subscription() {
                private boolean sent;

                @Override
                public synchronized void request(long n) {
                    if (sent || n <= 0) {
                        return;
                    }
                    sent = true;
                    asked.countDown();
                    new Thread(() -> {
                        try {
                            released.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        subscriber.onNext(ByteBuffer.wrap(bytes));
                        subscriber.onComplete();
                    }, "held-body").start();
                }

                @Override
                public void cancel() {
                }
            });
        }
    }
}
