package org.mefgateway.gateway.scep;

import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The senderNonces seen within the clock skew window, to refuse a replayed message (RFC 8894
 * 3.2.1.5: nonces protect against replay; the "Bad input"). A nonce seen again is a
 * replay unless it comes in the same transaction from the same key: that is the client
 * retransmitting a message whose answer it lost, answered like the first.
 *
 * <p>Per gateway process, in memory: gateways behind one address do not share it, and a restart
 * forgets it; a message older than the window is refused by its signingTime instead (badTime),
 * when it has one. Bounded: entries expire after the window, and beyond {@link #MAX_ENTRIES} the
 * oldest go first.
 */
final class SenderNonces {
    /** About 150 bytes an entry: at most some 15 MB. */
    static final int MAX_ENTRIES = 100_000;

    private final Duration window;
    private final Map<String, Seen> seen = new LinkedHashMap<>();

    SenderNonces(Duration window) {
        this.window = window;
    }

    private record Seen(String transactionId, String signerKey, Instant at) {
    }

    /** Whether the nonce is fresh, or a retransmission of its transaction by its key; remembers it. False for a replay. */
    synchronized boolean accept(byte[] nonce, String transactionId, String signerKey, Instant now) {
        expire(now);
        String key = HexFormat.of().formatHex(nonce);
        Seen before = seen.get(key);
        if (before != null) {
            return before.transactionId().equals(transactionId) && before.signerKey().equals(signerKey);
        }
        seen.put(key, new Seen(transactionId, signerKey, now));
        if (seen.size() > MAX_ENTRIES) {
            seen.remove(seen.keySet().iterator().next());
        }
        return true;
    }

    /** Drops the entries older than the window; they are in the order they were seen. */
    private void expire(Instant now) {
        Instant oldest = now.minus(window);
        for (Iterator<Seen> it = seen.values().iterator(); it.hasNext(); ) {
            if (!it.next().at().isBefore(oldest)) {
                return;
            }
            it.remove();
        }
    }
}
