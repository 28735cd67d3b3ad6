package org.mefgateway.bench;

import java.util.List;
import java.util.Locale;

/** Enrolments/s and p99 latency against concurrency, drawn by hand as SVG (log2 x axis). */
final class Svg {
    private static final int W = 760;
    private static final int PLOT_W = 600;
    private static final int PLOT_H = 200;
    private static final int LEFT = 90;

    private Svg() {
    }

    /** One measured concurrency level. */
    record Point(int clients, double perSecond, double p99Ms) {
        static Point of(Stats s, String prefix) {
            return new Point(Integer.parseInt(s.name.replace(prefix, "").trim()), s.perSecond(), s.percentileMs(99));
        }
    }

    /** {@code java -cp bench/target/classes org.mefgateway.bench.Svg e2e.json out.svg}: the picture again from a run's JSON. */
    public static void main(String[] args) throws java.io.IOException {
        String json = java.nio.file.Files.readString(java.nio.file.Path.of(args[0]));
        double raw = Double.parseDouble(field(json, "raw_sign_per_s"));
        java.nio.file.Files.writeString(java.nio.file.Path.of(args[1]),
                sweepOf(points(section(json, "sweep_keepalive")), points(section(json, "sweep_newtls")), raw));
    }

    private static String field(String json, String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + key + "\":\\s*([0-9.]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("no " + key);
        }
        return m.group(1);
    }

    private static String section(String json, String key) {
        int start = json.indexOf("\"" + key + "\"");
        return json.substring(json.indexOf('[', start), json.indexOf(']', start));
    }

    private static List<Point> points(String array) {
        List<Point> out = new java.util.ArrayList<>();
        for (String o : array.split("\\}")) {
            if (o.contains("clients")) {
                out.add(new Point(Integer.parseInt(field(o, "clients")), Double.parseDouble(field(o, "enrol_per_s")),
                        Double.parseDouble(field(o, "p99_ms"))));
            }
        }
        return out;
    }

    static String sweep(List<Stats> keepAlive, List<Stats> newTls, double rawSign) {
        return sweepOf(keepAlive.stream().map(x -> Point.of(x, "keep-alive c=")).toList(),
                newTls.stream().map(x -> Point.of(x, "new TLS c=")).toList(), rawSign);
    }

    static String sweepOf(List<Point> keepAlive, List<Point> newTls, double rawSign) {
        StringBuilder s = new StringBuilder();
        int height = 2 * (PLOT_H + 90) + 40;
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">\n", W, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">"
                + "ops/bench e2e: enrolments (csrattrs + CSR + simpleenroll) against concurrent clients</text>\n", LEFT - 60));
        double maxRate = Math.max(1, keepAlive.stream().mapToDouble(Point::perSecond).max().orElse(1));
        for (Point t : newTls) {
            maxRate = Math.max(maxRate, t.perSecond());
        }
        double maxP99 = 1;
        for (Point t : keepAlive) {
            maxP99 = Math.max(maxP99, t.p99Ms());
        }
        for (Point t : newTls) {
            maxP99 = Math.max(maxP99, t.p99Ms());
        }
        panel(s, 50, "enrolments/s", niceCeil(maxRate * 1.05), keepAlive, newTls, false, rawSign);
        panel(s, 50 + PLOT_H + 90, "p99 latency (ms)", niceCeil(maxP99 * 1.05), keepAlive, newTls, true, 0);
        s.append("</svg>\n");
        return s.toString();
    }

    private static void panel(StringBuilder s, int top, String title, double yMax, List<Point> keepAlive, List<Point> newTls,
                              boolean p99, double rawSign) {
        int bottom = top + PLOT_H;
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n", LEFT, top - 8, title));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
                LEFT, top, PLOT_W, PLOT_H));
        for (int i = 0; i <= 4; i++) {
            double v = yMax * i / 4;
            int y = bottom - (int) Math.round(PLOT_H * i / 4.0);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", LEFT, y, LEFT + PLOT_W, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", LEFT - 6, y + 4,
                    v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v)));
        }
        for (int c = 1; c <= 64; c *= 2) {
            int x = x(c);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#eee\"/>\n", x, top, x, bottom));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x, bottom + 16, c));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">concurrent clients</text>\n",
                LEFT + PLOT_W / 2, bottom + 34));
        if (rawSign > yMax) {
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#666\">raw HSM signatures/s on the same token: %.0f "
                    + "(above this scale)</text>\n", LEFT + 6, top + 16, rawSign));
        } else if (rawSign > 0) {
            int y = y(rawSign, yMax, bottom);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"6 4\"/>\n",
                    LEFT, y, LEFT + PLOT_W, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#666\">raw HSM signatures/s %.0f</text>\n", LEFT + 6, y - 5, rawSign));
        }
        series(s, keepAlive, "#1f77b4", p99, yMax, bottom, "keep-alive", 0);
        series(s, newTls, "#d62728", p99, yMax, bottom, "new TLS per enrolment", 1);
    }

    private static void series(StringBuilder s, List<Point> data, String colour, boolean p99, double yMax, int bottom, String label,
                               int legendRow) {
        if (data.isEmpty()) {
            return;
        }
        StringBuilder points = new StringBuilder();
        for (Point t : data) {
            int c = t.clients();
            double v = p99 ? t.p99Ms() : t.perSecond();
            int x = x(c);
            int y = y(v, yMax, bottom);
            points.append(x).append(',').append(y).append(' ');
            s.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"%s\"><title>%s %d clients: %.1f</title></circle>\n",
                    x, y, colour, label, c, v));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"%s\" text-anchor=\"middle\">%s</text>\n",
                    x, y - 7, colour, v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v)));
        }
        s.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", points.toString().trim(), colour));
        int ly = bottom - PLOT_H + 16 + legendRow * 16;
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
                + "<text x=\"%d\" y=\"%d\">%s</text>\n", LEFT + PLOT_W - 190, ly - 4, LEFT + PLOT_W - 170, ly - 4, colour, LEFT + PLOT_W - 164, ly, label));
    }

    private static int x(int clients) {
        double f = (Math.log(clients) / Math.log(2)) / 6.0;
        return LEFT + 20 + (int) Math.round(f * (PLOT_W - 40));
    }

    private static int y(double v, double yMax, int bottom) {
        return bottom - (int) Math.round(Math.min(1, v / yMax) * PLOT_H);
    }

    private static double niceCeil(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }
}
