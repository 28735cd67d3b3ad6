package org.mefgateway.gateway;

/** The configuration is unusable; the message names the file and the key. */
public final class ConfigException extends Exception {
    public ConfigException(String message) {
        super(message);
    }
}
