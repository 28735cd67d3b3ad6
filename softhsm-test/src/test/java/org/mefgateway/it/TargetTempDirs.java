package org.mefgateway.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * Every {@code @TempDir} of this module under {@code target/tmp/} instead of the system's temporary
 * directory, and kept after the test ({@code junit-platform.properties} sets both): the gateways run
 * as separate processes there (ledger.GatewayProcess writes their logs next to their configuration),
 * operators' exports ({@code admin list-certs --out}) and the H2 databases of those gateways land
 * there, and SecretsNotInOutputTest, run after every other test, must be able to search them. A
 * temporary directory that JUnit deleted could not be searched. {@code mvn clean} removes them.
 */
public final class TargetTempDirs implements TempDirFactory {
    static final Path ROOT = SoftHsm.TARGET.resolve("tmp");

    @Override
    public Path createTempDirectory(AnnotatedElementContext elementContext, ExtensionContext extensionContext) throws IOException {
        String owner = extensionContext.getTestClass().map(Class::getSimpleName).orElse("junit");
        return Files.createTempDirectory(Files.createDirectories(ROOT), owner + "-");
    }
}
