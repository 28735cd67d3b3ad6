package org.mefgateway.hsm;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The gateway's CA keys by name: the {@value CaKeyConfig#DEFAULT} key from the top-level hsm
 * configuration and any further named keys (one per EST label or profile, for example). A
 * profile that names no key signs with the default one.
 */
public final class CaKeys implements AutoCloseable {
    private final Map<String, CaSigner> signers;

    private CaKeys(Map<String, CaSigner> signers) {
        this.signers = signers;
    }

    /** Opens every key; the first configuration is the default key. Nothing stays open on failure. */
    public static CaKeys open(List<CaKeyConfig> keys, MeterRegistry meters) throws HsmException {
        if (keys.isEmpty() || !keys.get(0).name().equals(CaKeyConfig.DEFAULT)) {
            throw new IllegalArgumentException("the first CA key must be '" + CaKeyConfig.DEFAULT + "'");
        }
        Map<String, CaSigner> signers = new LinkedHashMap<>();
        try {
            for (CaKeyConfig key : keys) {
                if (signers.containsKey(key.name())) {
                    throw new IllegalArgumentException("CA key '" + key.name() + "' is configured twice");
                }
                signers.put(key.name(), CaSigner.open(key, meters));
            }
            return new CaKeys(signers);
        } catch (HsmException | RuntimeException e) {
            signers.values().forEach(CaSigner::close);
            throw e;
        }
    }

    /** The signer of the default key. */
    public CaSigner defaultSigner() {
        return signers.get(CaKeyConfig.DEFAULT);
    }

    /** The signer of the named key, or empty if no key has that name. */
    public Optional<CaSigner> signer(String name) {
        return Optional.ofNullable(signers.get(name));
    }

    /** The named key's signer, the default key's when {@code name} is empty. */
    public CaSigner signerOrDefault(Optional<String> name) throws HsmException {
        if (name.isEmpty()) {
            return defaultSigner();
        }
        return signer(name.get()).orElseThrow(() -> new HsmException("no CA key named '" + name.get()
                + "' is configured (keys: " + String.join(", ", signers.keySet()) + ")"));
    }

    public List<String> names() {
        return List.copyOf(signers.keySet());
    }

    /** The readiness probe over every key: fails when any key has no token in service. */
    public CompletionStage<Void> probe() {
        List<CompletableFuture<Void>> probes = new ArrayList<>();
        signers.values().forEach(s -> probes.add(s.probe().toCompletableFuture()));
        return CompletableFuture.allOf(probes.toArray(CompletableFuture[]::new));
    }

    /**
     * Sizes the pools of the tokens with {@code signerThreads: auto} on a daemon thread of its own
     * ({@link CaSigner#measureWorkers}), so that a start is not held up by the measurement; until
     * it ends each such token signs with one worker.
     */
    public void measureWorkersInBackground() {
        Thread t = new Thread(() -> signers.values().forEach(CaSigner::measureWorkers), "hsm-measure-workers");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        signers.values().forEach(CaSigner::close);
    }
}
