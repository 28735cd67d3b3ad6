package org.mefgateway.bench;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.conscrypt.Conscrypt;

/**
 * What the gateway's hottest method costs: a CSR's proof-of-possession check is one signature
 * verification ({@code CsrParser.signatureValid}), SHA256withECDSA P-256 for a oneM2M device. This
 * times it with Bouncy Castle (the pure-Java fallback), the JDK's SunEC / SunRsaSign, Conscrypt
 * (BoringSSL) and ACCP (AWS-LC), interleaved in 1 s rounds on one thread, best of 6 each, for
 * P-256, P-384 and RSA-2048; then names the CSR algorithms each native provider lacks. Every
 * provider is used as an object, none is registered with the JVM:
 * {@code java -cp "bench/target/classes:$(cat bench/target/classpath)" org.mefgateway.bench.VerifyBench}
 * (ROUNDS=n in the environment changes the 6 rounds).
 */
public final class VerifyBench {

    record Case(String name, String keyAlgorithm, AlgorithmParameterSpec spec, String signature, String jdkProvider) {
    }

    public static void main(String[] a) throws Exception {
        int rounds = Integer.parseInt(System.getenv().getOrDefault("ROUNDS", "6"));
        Map<String, Provider> providers = new LinkedHashMap<>();
        providers.put("BouncyCastle", new BouncyCastleProvider());
        providers.put("SunEC/SunRsaSign", null); // per case below
        providers.put("Conscrypt", Conscrypt.newProvider());
        AmazonCorrettoCryptoProvider.INSTANCE.assertHealthy();
        providers.put("ACCP", AmazonCorrettoCryptoProvider.INSTANCE);
        List<Case> cases = List.of(
                new Case("P-256", "EC", new ECGenParameterSpec("secp256r1"), "SHA256withECDSA", "SunEC"),
                new Case("P-384", "EC", new ECGenParameterSpec("secp384r1"), "SHA384withECDSA", "SunEC"),
                new Case("RSA-2048", "RSA", new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4), "SHA256withRSA",
                        "SunRsaSign"));
        System.out.printf("verify/s, best of %d interleaved 1 s rounds, one thread (java %s, %s %s)%n", rounds,
                System.getProperty("java.version"), System.getProperty("os.name"), System.getProperty("os.arch"));
        for (Case c : cases) {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance(c.keyAlgorithm());
            kpg.initialize(c.spec());
            KeyPair kp = kpg.generateKeyPair();
            byte[] msg = new byte[300]; // about a oneM2M certificationRequestInfo
            Signature s = Signature.getInstance(c.signature());
            s.initSign(kp.getPrivate());
            s.update(msg);
            byte[] sig = s.sign();
            List<String> names = new ArrayList<>(providers.keySet());
            double[] best = new double[names.size()];
            for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < names.size(); i++) {
                    Provider p = providers.get(names.get(i));
                    Signature v = Signature.getInstance(c.signature(), p != null ? p : Security.getProvider(c.jdkProvider()));
                    long n = 0;
                    long start = System.nanoTime();
                    long end = start + 1_000_000_000L;
                    while (System.nanoTime() < end) {
                        v.initVerify(kp.getPublic());
                        v.update(msg);
                        if (!v.verify(sig)) {
                            throw new IllegalStateException(names.get(i) + " refused a valid " + c.name() + " signature");
                        }
                        n++;
                    }
                    best[i] = Math.max(best[i], n / ((System.nanoTime() - start) / 1e9));
                }
            }
            StringBuilder line = new StringBuilder(String.format("%-9s", c.name()));
            for (int i = 0; i < names.size(); i++) {
                line.append(String.format("  %s %.0f (%.1f×BC)", names.get(i), best[i], best[i] / best[0]));
            }
            System.out.println(line);
        }
        for (String name : List.of("Conscrypt", "ACCP")) {
            List<String> lacks = new ArrayList<>();
            for (String algorithm : List.of("SHA256withECDSA", "SHA384withECDSA", "SHA512withECDSA", "SHA256withRSA",
                    "SHA512withRSA", "RSASSA-PSS", "Ed25519", "Ed448")) {
                if (providers.get(name).getService("Signature", algorithm) == null) {
                    lacks.add(algorithm);
                }
            }
            System.out.printf("%s lacks: %s%n", name, lacks.isEmpty() ? "none of the CSR signature algorithms tried" : lacks);
        }
    }
}
