package org.mefgateway.policy;

/** Object identifiers the product uses, in their dotted form. */
public final class Oids {

    /** PKCS#9 challengePassword attribute (RFC 2985 5.4.1). */
    public static final String CHALLENGE_PASSWORD = "1.2.840.113549.1.9.7";
    /** PKCS#9 extensionRequest attribute (RFC 2985 5.4.2): the extensions a CSR asks for. */
    public static final String EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
    /** id-ecPublicKey (RFC 5480). */
    public static final String EC_PUBLIC_KEY = "1.2.840.10045.2.1";
    /** secp256r1, a.k.a. NIST P-256 / prime256v1 (RFC 5480). */
    public static final String SECP256R1 = "1.2.840.10045.3.1.7";
    /** ecdsa-with-SHA256 (RFC 5758). */
    public static final String ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
    /** id-ce-subjectAltName (RFC 5280 4.2.1.6). */
    public static final String SUBJECT_ALT_NAME = "2.5.29.17";
    /** id-ce-extKeyUsage (RFC 5280 4.2.1.12). */
    public static final String EXTENDED_KEY_USAGE = "2.5.29.37";
    /** id-ce-keyUsage (RFC 5280 4.2.1.3). */
    public static final String KEY_USAGE = "2.5.29.15";
    /** id-ce-basicConstraints (RFC 5280 4.2.1.9). */
    public static final String BASIC_CONSTRAINTS = "2.5.29.19";
    /** id-ce-authorityKeyIdentifier (RFC 5280 4.2.1.1). */
    public static final String AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";
    /** id-ce-cRLDistributionPoints (RFC 5280 4.2.1.13). */
    public static final String CRL_DISTRIBUTION_POINTS = "2.5.29.31";
    /** id-pe-authorityInfoAccess (RFC 5280 4.2.2.1). */
    public static final String AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1";
    /** id-ce-nameConstraints (RFC 5280 4.2.1.10): only meaningful in CA certificates. */
    public static final String NAME_CONSTRAINTS = "2.5.29.30";
    /** id-ce-certificatePolicies (RFC 5280 4.2.1.4). */
    public static final String CERTIFICATE_POLICIES = "2.5.29.32";
    /** ecdsa-with-SHA384 (RFC 5758). */
    public static final String ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3";
    /** sha256WithRSAEncryption (RFC 4055). */
    public static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
    /** id-RSASSA-PSS (RFC 4055). */
    public static final String RSASSA_PSS = "1.2.840.113549.1.1.10";
    /** id-Ed25519 (RFC 8410). */
    public static final String ED25519 = "1.3.101.112";
    /** id-ce-subjectKeyIdentifier (RFC 5280 4.2.1.2). */
    public static final String SUBJECT_KEY_IDENTIFIER = "2.5.29.14";

    /**
     * Arc of the default EKU OIDs for Security Usage Identifiers.
     *
     * <p>The standards assign no EKU OIDs to SUIDs (TS-0004 {@code m2m:suid}), so the default
     * mapping uses an arc under the UUID OID arc 2.25 (ITU-T X.667: no registration needed)
     * that this project owns: SUID {@code n} maps to {@code SUID_EKU_ARC + "." + n}. Operators
     * override the mapping in configuration ({@link Profile#suidEkus()}).
     */
    public static final String SUID_EKU_ARC = "2.25.318609125702178136709414221712267757771.1";

    private Oids() {
    }
}
