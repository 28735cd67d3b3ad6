package org.mefgateway.gateway.store;

import java.nio.file.Path;

/** The store contract on the embedded default: an H2 file database. */
class H2StoreTest extends StoreContract {
    @Override
    String newDatabase(Path dir) {
        return Store.h2Url(dir.resolve("db"));
    }

    @Override
    String user() {
        return "sa";
    }

    @Override
    String password() {
        return "";
    }
}
