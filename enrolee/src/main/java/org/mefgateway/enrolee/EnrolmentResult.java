package org.mefgateway.enrolee;

import java.nio.file.Path;

/**
 * A completed enrolment.
 *
 * @param command     the MEF Client Command that was carried out
 * @param credentials the installed key, certificate chain and trust anchors
 * @param file        the PKCS#12 file they were written to
 */
public record EnrolmentResult(MefCommand command, Credentials credentials, Path file) {
}
