package org.mefgateway.hsm;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import sun.security.pkcs11.wrapper.CK_C_INITIALIZE_ARGS;
import sun.security.pkcs11.wrapper.PKCS11;
import sun.security.pkcs11.wrapper.PKCS11Exception;

/**
 * One PKCS#11 library as this process has it loaded, and the one way to make it see its tokens
 * afresh: finalising it and initialising it again.
 *
 * <p>The JDK's wrapper loads a library once per path ({@code PKCS11.getInstance} caches the module
 * and calls C_Initialize only when it first loads it), and every SunPKCS11 provider instance of the
 * library shares that module. SoftHSM 2.6 reads its token store only in C_Initialize: once a
 * token's directory or object files vanished, every call answers CKR_GENERAL_ERROR (or the key is
 * missing) for as long as the process lives, even after they are back, and a new provider instance
 * changes nothing. C_Finalize + C_Initialize makes the module read the store again; it also ends
 * every session and object handle of every provider instance of the library, and the module then
 * numbers new ones from 1 again, so an old instance's handle may now name another session or
 * another key.
 *
 * <p>Hence the rule this class keeps: the signers use the module only while holding
 * {@link #inUse()} (shared), and only through a provider instance opened in the current
 * {@link #epoch()}. {@link #reload} holds the lock exclusively — it waits for the signatures in
 * progress on every token of the library, and none starts while it runs — and begins a new epoch:
 * instances of an earlier epoch are never used again, their tokens are opened anew.
 *
 * <p>C_Initialize is package-private in the wrapper (JDK 17 and 25), so it is called reflectively,
 * which needs {@code --add-opens jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED}
 * (the gateway jar's manifest and the launchers give it). Without it, {@link #reload} refuses
 * before finalising anything.
 */
final class Pkcs11Module {
    private static final Map<String, Pkcs11Module> LOADED = new ConcurrentHashMap<>();
    /** How long a reload waits for signatures in progress before it gives up (and is tried again later). */
    private static final long DRAIN_SECONDS = 10;
    private static final Method C_INITIALIZE = initializeMethod();

    private final String library;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile long epoch;

    private Pkcs11Module(String library) {
        this.library = library;
    }

    /** The module of a token's library, keyed by the path string the wrapper caches it under. */
    static Pkcs11Module of(HsmConfig config) {
        return LOADED.computeIfAbsent(Pkcs11Token.libraryPath(config), Pkcs11Module::new);
    }

    String library() {
        return library;
    }

    /** Held (shared) while a signer opens a token or signs: a reload waits for it. */
    Lock inUse() {
        return lock.readLock();
    }

    /** Incremented by each reload: provider instances opened in an earlier epoch are dead. */
    long epoch() {
        return epoch;
    }

    /**
     * Finalises the module and initialises it again, unless another token of the library already
     * did since {@code seenEpoch} (the same fault seen by several tokens costs one reload).
     *
     * @return true if this call reloaded the module, false if another had already done so
     * @throws HsmException if signatures in progress do not finish within 10 s, if the JVM does not
     *         open the wrapper to us, or if the module cannot be initialised again (it is then left
     *         finalised, and the next reload initialises it)
     */
    boolean reload(long seenEpoch) throws HsmException {
        if (C_INITIALIZE == null) {
            throw new HsmException("cannot re-initialise the PKCS#11 module " + library + ": start the JVM with"
                    + " --add-opens jdk.crypto.cryptoki/sun.security.pkcs11.wrapper=ALL-UNNAMED (the gateway jar and launchers do)");
        }
        Lock exclusive = lock.writeLock();
        try {
            if (!exclusive.tryLock(DRAIN_SECONDS, TimeUnit.SECONDS)) {
                throw new HsmException("signatures on a token of " + library + " are still in progress after " + DRAIN_SECONDS
                        + " s: the PKCS#11 module is not re-initialised under them");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HsmException("interrupted while waiting to re-initialise the PKCS#11 module " + library);
        }
        try {
            if (epoch != seenEpoch) {
                return false;
            }
            PKCS11 module = PKCS11.getInstance(library, "C_GetFunctionList", null, false);
            try {
                module.C_Finalize(null);
            } catch (PKCS11Exception e) {
                // CKR_CRYPTOKI_NOT_INITIALIZED: a previous C_Initialize failed; anything else: the
                // module is in no state to finalise cleanly. Initialising it is what we need either way.
            }
            // From here on, every handle of every provider instance opened before is dead.
            epoch++;
            C_INITIALIZE.invoke(module, initializeArgs(module));
            return true;
        } catch (InvocationTargetException e) {
            throw new HsmException("cannot initialise the PKCS#11 module " + library + " again: " + e.getCause().getMessage(), e.getCause());
        } catch (IOException | PKCS11Exception | IllegalAccessException e) {
            throw new HsmException("cannot re-initialise the PKCS#11 module " + library + ": " + e.getMessage(), e);
        } finally {
            exclusive.unlock();
        }
    }

    /**
     * Whether a failure to open a token through a fresh provider instance is one that initialising
     * the module again may cure: the module lists no such token or the token has no such key
     * ({@link KeyNotFoundException}), or it answers with a code that means it lost the token
     * ({@link Ckr#isTokenLost}). Not an unreadable PIN, a wrong PIN or a different key under the
     * label: re-initialising changes none of these.
     */
    static boolean cures(Throwable failure) {
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof KeyNotFoundException) {
                return true;
            }
            if (c instanceof PKCS11Exception p) {
                return Ckr.isTokenLost(p.getErrorCode());
            }
        }
        return false;
    }

    /**
     * As the module was initialised first: the wrapper made a plain PKCS11 object when SunPKCS11
     * initialised it with CKF_OS_LOCKING_OK (the module locks for itself), and a synchronised one
     * (every call serialised in Java) when it was initialised with no arguments, as
     * {@link TokenSlots} does.
     */
    private static CK_C_INITIALIZE_ARGS initializeArgs(PKCS11 module) {
        if (module.getClass() != PKCS11.class) {
            return null;
        }
        CK_C_INITIALIZE_ARGS args = new CK_C_INITIALIZE_ARGS();
        args.flags = 0x2; // CKF_OS_LOCKING_OK
        return args;
    }

    private static Method initializeMethod() {
        try {
            Method m = PKCS11.class.getDeclaredMethod("C_Initialize", Object.class);
            m.setAccessible(true);
            return m;
        } catch (NoSuchMethodException | RuntimeException notOpenedToUs) {
            return null;
        }
    }
}
