package org.mefgateway.gateway;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The routes of one listener, registered so that the listener can say which methods a path
 * allows: every GET route also answers HEAD (RFC 9110 9.3.2; Vert.x sends the GET's headers
 * without the body), and a 405 carries {@code Allow} (RFC 9110 15.5.6).
 */
public final class Routes {
    private final Router router;
    /** Path pattern (Vert.x syntax: {@code :param}, trailing {@code *}) to the methods routed for it. */
    private final Map<String, Set<String>> methods = new LinkedHashMap<>();

    public Routes(Router router) {
        this.router = router;
    }

    /** GET and HEAD. */
    public Route get(String path) {
        return route(path, HttpMethod.GET, HttpMethod.HEAD);
    }

    public Route post(String path) {
        return route(path, HttpMethod.POST);
    }

    public Route delete(String path) {
        return route(path, HttpMethod.DELETE);
    }

    private Route route(String path, HttpMethod... allowed) {
        Route route = router.route(path);
        for (HttpMethod method : allowed) {
            route.method(method);
            methods.computeIfAbsent(path, p -> new TreeSet<>()).add(method.name());
        }
        return route;
    }

    /** The {@code Allow} value for a request path: every method some route serves it with. */
    public Optional<String> allowed(String requestPath) {
        Set<String> allowed = new TreeSet<>();
        methods.forEach((path, ms) -> {
            if (matcher(path).matcher(requestPath).matches()) {
                allowed.addAll(ms);
            }
        });
        return allowed.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", allowed));
    }

    private static Pattern matcher(String path) {
        boolean prefix = path.endsWith("*");
        String fixed = prefix ? path.substring(0, path.length() - 1) : path;
        String regex = Pattern.compile("/").splitAsStream(fixed)
                .map(segment -> segment.startsWith(":") ? "[^/]+" : Pattern.quote(segment))
                .collect(Collectors.joining("/"));
        // Vert.x's "/p/*" also matches "/p" itself.
        return Pattern.compile(prefix ? regex + "(/.*)?" : regex + (fixed.endsWith("/") ? "/" : ""));
    }
}
