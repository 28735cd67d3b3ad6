package org.mefgateway.gateway.admin;

import java.util.Base64;
import java.util.List;
import org.mefgateway.gateway.store.IssuedCertificate;

/** The ledger as operators export it: PEM for tools, CSV for spreadsheets. */
final class CertificateExport {
    private CertificateExport() {
    }

    /** Every certificate as a PEM block, in ledger order. */
    static String pem(List<IssuedCertificate> certs) {
        StringBuilder s = new StringBuilder();
        Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (IssuedCertificate c : certs) {
            s.append("-----BEGIN CERTIFICATE-----\n").append(b64.encodeToString(c.der())).append("\n-----END CERTIFICATE-----\n");
        }
        return s.toString();
    }

    /** RFC 4180 CSV with a header line. */
    static String csv(List<IssuedCertificate> certs) {
        StringBuilder s = new StringBuilder("serial,enroleeId,profile,status,notBefore,notAfter,issuedAt,subject,subjectAltNames\r\n");
        for (IssuedCertificate c : certs) {
            s.append(String.join(",", field(c.serialHex()), field(c.enroleeId()), field(c.profile()), field(c.status().name()),
                    field(c.notBefore().toString()), field(c.notAfter().toString()), field(c.issuedAt().toString()),
                    field(c.subject()), field(c.subjectAltNames()))).append("\r\n");
        }
        return s.toString();
    }

    /**
     * Quoted when needed (RFC 4180), and a leading = + - @ neutralised with an apostrophe: names
     * come from devices' CSRs and must not become spreadsheet formulas.
     */
    static String field(String value) {
        String v = value;
        if (!v.isEmpty() && "=+-@".indexOf(v.charAt(0)) >= 0) {
            v = "'" + v;
        }
        if (v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r")) {
            v = "\"" + v.replace("\"", "\"\"") + "\"";
        }
        return v;
    }
}
