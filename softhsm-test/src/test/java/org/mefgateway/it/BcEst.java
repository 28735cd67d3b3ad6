package org.mefgateway.it;

import java.security.KeyPair;
import java.security.KeyStore;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.mefgateway.gateway.TlsMaterial;

/** Bouncy Castle's EST client and PKCS#10 builder, set up as an independent device would use them. */
final class BcEst {
    private BcEst() {
    }

    /**
     * A BC EST service for the gateway: trusts exactly the gateway's CA, presents the key entry of
     * {@code credential} (or none), on {@code label} (or none). The host name check is BC's default
     * JsseDefaultHostnameAuthorizer (never disabled): it matches 127.0.0.1 against the server
     * certificate's iPAddress SAN. The JDK's PKIX trust manager is used rather than BC's
     * JcaJceUtils.getCertPathTrustManager, which would need the BC provider installed and so
     * change the provider list of the gateway running in this JVM.
     */
    static ESTService client(TestGateway mef, KeyStore credential, char[] password, String label) throws Exception {
        TrustManagerFactory tmf = TlsMaterial.trustManagers(List.of(mef.caCertificate));
        JsseESTServiceBuilder builder = new JsseESTServiceBuilder("127.0.0.1:" + mef.gateway.estPort(),
                (X509TrustManager) tmf.getTrustManagers()[0]).withTimeout(10_000);
        if (credential != null) {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(credential, password);
            builder.withKeyManagers(kmf.getKeyManagers());
        }
        if (label != null) {
            builder.withLabel(label);
        }
        return builder.build();
    }

    /** A CSR built by BC: subject CN=aeId, the challenge, and the AE-ID as SAN URI. */
    static PKCS10CertificationRequest aeCsr(KeyPair keys, String aeId, String challenge) throws Exception {
        ExtensionsGenerator ext = new ExtensionsGenerator();
        ext.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, aeId)));
        return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + aeId), keys.getPublic())
                .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_challengePassword, new DERPrintableString(challenge))
                .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
    }
}
