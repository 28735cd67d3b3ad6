package org.mefgateway.gateway.store;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Counts every statement the store sends to the database, in {@code mef_store_statements_total}
 * by {@code statement} (verb and table, e.g. {@code update challenge}; {@code commit},
 * {@code rollback} and {@code checkpoint} too): each execute, executeQuery, executeUpdate and
 * executeBatch is one, as is each explicit commit or rollback. The e2e bench divides it by
 * enrolments and a test pins the count of one enrolment, so a statement added to the hot path
 * shows. Counted at the JDBC interfaces rather than in each store method, so no statement is
 * missed whichever helper sends it.
 */
final class StatementCounts {
    private final MeterRegistry meters;
    /** By SQL text: the store's statements are constants, so this stays small. */
    private final Map<String, Counter> bySql = new ConcurrentHashMap<>();

    StatementCounts(MeterRegistry meters) {
        this.meters = meters;
    }

    /** {@code dataSource} with every statement of its connections counted. */
    DataSource counting(DataSource dataSource) {
        return proxy(DataSource.class, dataSource, (target, method, args) -> {
            Object result = invoke(target, method, args);
            return result instanceof Connection c ? connection(c) : result;
        });
    }

    private Connection connection(Connection connection) {
        return proxy(Connection.class, connection, (target, method, args) -> {
            switch (method.getName()) {
                case "commit" -> counter("commit").increment();
                case "rollback" -> counter("rollback").increment();
                default -> {
                }
            }
            Object result = invoke(target, method, args);
            if (result instanceof PreparedStatement ps && method.getName().equals("prepareStatement")) {
                Counter counter = counter((String) args[0]);
                return proxy(PreparedStatement.class, ps, (t, m, a) -> {
                    if (m.getName().startsWith("execute")) {
                        counter.increment();
                    }
                    return invoke(t, m, a);
                });
            }
            if (result instanceof Statement s && method.getName().equals("createStatement")) {
                return proxy(Statement.class, s, (t, m, a) -> {
                    if (m.getName().startsWith("execute") && a != null && a.length > 0 && a[0] instanceof String sql) {
                        counter(sql).increment();
                    }
                    return invoke(t, m, a);
                });
            }
            return result;
        });
    }

    private Counter counter(String sql) {
        return bySql.computeIfAbsent(sql, s -> Counter.builder("mef.store.statements")
                .description("Statements sent to the database (each execute or batch, commit, rollback, checkpoint), by verb and table")
                .tag("statement", name(s))
                .register(meters));
    }

    /** "update challenge", "select enrolee", "insert audit_event", "checkpoint", "commit": bounded, unlike the SQL. */
    static String name(String sql) {
        String[] words = sql.trim().toLowerCase(Locale.ROOT).split("[\\s(),]+");
        String verb = words[0];
        String table = switch (verb) {
            case "update" -> after(words, "update");
            case "insert" -> after(words, "into");
            case "select", "delete" -> after(words, "from");
            default -> "";
        };
        return table.isEmpty() ? verb : verb + " " + table;
    }

    private static String after(String[] words, String keyword) {
        for (int i = 0; i < words.length - 1; i++) {
            if (words[i].equals(keyword)) {
                return words[i + 1];
            }
        }
        return "";
    }

    /** Calls on a JDBC object, with what its own call did and threw. */
    private interface Call<T> {
        Object on(T target, Method method, Object[] args) throws Throwable;
    }

    private static <T> T proxy(Class<T> type, T target, Call<T> call) {
        InvocationHandler handler = (p, method, args) -> call.on(target, method, args);
        return type.cast(Proxy.newProxyInstance(StatementCounts.class.getClassLoader(), new Class<?>[] {type}, handler));
    }

    private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
