package org.mefgateway.bench;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * What the gateway's hottest method costs: a CSR's proof-of-possession check is one SHA256withECDSA
 * P-256 verification ({@code CsrParser.signatureValid}, Bouncy Castle provider). This times it with
 * Bouncy Castle and with the JDK's SunEC, interleaved in 1 s rounds on one thread, best of 6 each:
 * {@code java -cp bench/target/classes:gateway/target/gateway-0.1.0-SNAPSHOT-cli.jar org.mefgateway.bench.VerifyBench}
 */
public final class VerifyBench {
    public static void main(String[] a) throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC");
        kpg.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = kpg.generateKeyPair();
        byte[] msg = new byte[300];
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(kp.getPrivate());
        s.update(msg);
        byte[] sig = s.sign();
        Provider bc = new BouncyCastleProvider();
        Provider sun = Security.getProvider("SunEC");
        double[] best = new double[2];
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < 2; i++) {
                Signature v = Signature.getInstance("SHA256withECDSA", i == 0 ? bc : sun);
                long n = 0, end = System.nanoTime() + 1_000_000_000L, start = System.nanoTime();
                while (System.nanoTime() < end) {
                    v.initVerify(kp.getPublic());
                    v.update(msg);
                    if (!v.verify(sig)) throw new IllegalStateException();
                    n++;
                }
                best[i] = Math.max(best[i], n / ((System.nanoTime() - start) / 1e9));
            }
        }
        System.out.printf("P-256 verify/s, best of 6 interleaved 1 s rounds, one thread: BouncyCastle %.0f, SunEC %.0f, ratio %.2f (java %s)%n",
                best[0], best[1], best[1] / best[0], System.getProperty("java.version"));
    }
}
