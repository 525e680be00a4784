package dev.veracache.benchmarks.peers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * The peers table built from a JMH result file in JMH's JSON format ({@code -rf json}): per path, each peer's score
 * with its error (JMH's 99.9% confidence half-width), and its ratio to the raw limit of that path with the ratio's
 * error (relative errors added in quadrature), then Veracache's target and whether the run met it. A benchmark missing
 * from the file (a run of a subset) shows as "not run"; a score without an error (one iteration) as "± ?".
 *
 * <p>Invariants: the file is read with Jackson, never by hand; a benchmark is looked up by its class's simple name
 * and method ({@code L2Hit.lettuceGet}), so the report does not depend on the package; a verdict is given only when
 * every score it needs is in the file.
 */
public final class PeerReport {

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  /** One benchmark's result: name {@code Class.method}, threads, score, error (NaN if unknown) and unit. */
  public record Score(String name, int threads, double score, double error, String unit) {

    /** {@code score ± error} with three significant digits. */
    String formatted() {
      return number(score) + " ± " + (Double.isNaN(error) ? "?" : number(error));
    }
  }

  /** How a row's target is judged: the ratio of Veracache's (first) score to the raw limit. */
  private enum Better {
    HIGHER, LOWER
  }

  private record Row(String path, Better better, String raw, String rawLabel, List<String> veracache,
      List<String> jetcache, List<String> redisson, double targetRatio, String target) {
  }

  private static final List<Row> ROWS = List.of(
      new Row("L1 hit, 2 threads (ops/us)", Better.HIGHER, "L1HitTwoThreads.caffeine", "Caffeine",
          List.of("L1HitTwoThreads.veracache"), List.of("L1HitTwoThreads.jetcache"),
          List.of("L1HitTwoThreads.redisson"), 0.9, ">= 0.9x raw Caffeine"),
      new Row("L1 hit, 1 thread (ops/us)", Better.HIGHER, "L1HitOneThread.caffeine", "Caffeine",
          List.of("L1HitOneThread.veracache"), List.of("L1HitOneThread.jetcache"),
          List.of("L1HitOneThread.redisson"), 0.9, ">= 0.9x raw Caffeine"),
      new Row("L2 hit (us/op)", Better.LOWER, "L2Hit.lettuceGet", "Lettuce GET",
          List.of("L2Hit.veracacheL1Off", "L2Hit.veracacheL1Miss"), List.of("L2Hit.jetcacheRemote"),
          List.of("L2Hit.redissonLocalMiss"), 1.1, "<= 1.1x raw GET"),
      new Row("miss, load and fill (us/op)", Better.LOWER, "MissWithFill.naiveGetPsetex", "naive GET+PSETEX",
          List.of("MissWithFill.veracache"), List.of("MissWithFill.jetcache"),
          List.of("MissWithFill.redissonReadThrough", "MissWithFill.redissonCacheAside"), 1.3,
          "<= 1.3x naive, faster than JetCache"));

  /** What each benchmark is, for the labels of the rows that hold two. */
  private static final Map<String, String> LABELS = Map.of(
      "L2Hit.veracacheL1Off", "L1 off",
      "L2Hit.veracacheL1Miss", "L1 miss",
      "MissWithFill.redissonReadThrough", "read-through",
      "MissWithFill.redissonCacheAside", "get + fastPut");

  private final Map<String, Score> scores;

  private PeerReport(Map<String, Score> scores) {
    this.scores = scores;
  }

  /** Reads a JMH JSON result file. */
  public static PeerReport fromJson(Path jmhJson) {
    return fromJsonTree(JSON.readTree(jmhJson.toFile()), jmhJson.toString());
  }

  /** Reads JMH JSON result text (what {@code -rf json} writes). */
  public static PeerReport fromJsonText(String jmhJson) {
    return fromJsonTree(JSON.readTree(jmhJson), "the given text");
  }

  private static PeerReport fromJsonTree(JsonNode root, String source) {
    if (root == null || !root.isArray()) {
      throw new IllegalArgumentException("JMH result " + source + " is not a JSON array of benchmark results (was it "
          + "written with -rf json?)");
    }
    Map<String, Score> scores = new LinkedHashMap<>();
    for (JsonNode result : root) {
      String benchmark = result.path("benchmark").asString("");
      JsonNode metric = result.path("primaryMetric");
      if (benchmark.isEmpty() || metric.isMissingNode()) {
        throw new IllegalArgumentException("JMH result " + source + " has an entry without 'benchmark' or "
            + "'primaryMetric': " + result);
      }
      String[] parts = benchmark.split("\\.");
      String name = parts.length >= 2 ? parts[parts.length - 2] + "." + parts[parts.length - 1] : benchmark;
      scores.put(name, new Score(name, result.path("threads").asInt(1), number(metric.path("score")),
          number(metric.path("scoreError")), metric.path("scoreUnit").asString("")));
    }
    return new PeerReport(scores);
  }

  private static double number(JsonNode node) {
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isString()) { // JMH writes "NaN" for an error it could not compute
      try {
        return Double.parseDouble(node.asString());
      } catch (NumberFormatException e) {
        return Double.NaN;
      }
    }
    return Double.NaN;
  }

  /** Every score read, by {@code Class.method}. */
  public Map<String, Score> scores() {
    return scores;
  }

  /** The peers table, then every benchmark of the file. {@code context} is printed above (load, machine). */
  public String markdown(String context) {
    StringBuilder out = new StringBuilder();
    out.append("## Veracache and its peers, side by side\n\n");
    if (!context.isBlank()) {
      out.append(context.strip()).append("\n\n");
    }
    out.append("Score ± error (99.9% confidence, JMH); in brackets the ratio to the raw limit of the path, with its ")
        .append("error.\n\n");
    out.append("| path | Veracache | raw limit | JetCache 2.7.8 (Jedis) | Redisson 4.7.0 RLocalCachedMap | target | "
        + "met |\n");
    out.append("|---|---|---|---|---|---|---|\n");
    for (Row row : ROWS) {
      Score raw = scores.get(row.raw);
      out.append("| ").append(row.path)
          .append(" | ").append(cells(row.veracache, raw))
          .append(" | ").append(row.rawLabel).append(' ').append(raw == null ? "not run" : raw.formatted())
          .append(" | ").append(cells(row.jetcache, raw))
          .append(" | ").append(cells(row.redisson, raw))
          .append(" | ").append(row.target)
          .append(" | ").append(verdict(row, raw)).append(" |\n");
    }
    out.append("\n### Every benchmark\n\n| benchmark | threads | score | unit |\n|---|---|---|---|\n");
    for (Score score : scores.values()) {
      out.append("| ").append(score.name).append(" | ").append(score.threads).append(" | ")
          .append(score.formatted()).append(" | ").append(score.unit).append(" |\n");
    }
    return out.toString();
  }

  private String cells(List<String> names, Score raw) {
    List<String> cells = new ArrayList<>();
    for (String name : names) {
      Score score = scores.get(name);
      String label = LABELS.containsKey(name) ? LABELS.get(name) + " " : "";
      if (score == null) {
        cells.add(label + "not run");
      } else {
        cells.add(label + score.formatted() + (raw == null ? "" : " (" + ratioText(score, raw) + ")"));
      }
    }
    return String.join("; ", cells);
  }

  /** {@code score / raw} and its error, from the two relative errors in quadrature. */
  static double[] ratio(Score score, Score raw) {
    double ratio = score.score / raw.score;
    double relative = Math.hypot(score.error / score.score, raw.error / raw.score);
    return new double[] {ratio, Math.abs(ratio) * relative};
  }

  private static String ratioText(Score score, Score raw) {
    double[] r = ratio(score, raw);
    return String.format(Locale.ROOT, "%.2fx", r[0]) + (Double.isNaN(r[1]) ? ""
        : String.format(Locale.ROOT, " ± %.2f", r[1]));
  }

  private String verdict(Row row, Score raw) {
    Score veracache = scores.get(row.veracache.get(0));
    if (veracache == null || raw == null) {
      return "not run";
    }
    double[] r = ratio(veracache, raw);
    boolean met = row.better == Better.HIGHER ? r[0] >= row.targetRatio : r[0] <= row.targetRatio;
    String why = String.format(Locale.ROOT, "%.2fx", r[0]);
    if (row.path.startsWith("miss")) {
      Score jetcache = scores.get(row.jetcache.get(0));
      if (jetcache == null) {
        return "not run (JetCache)";
      }
      met &= veracache.score < jetcache.score;
      why += String.format(Locale.ROOT, ", %s us vs JetCache %s us", number(veracache.score),
          number(jetcache.score));
    }
    boolean withinError = !Double.isNaN(r[1]) && Math.abs(r[0] - row.targetRatio) <= r[1];
    return (met ? "yes" : "no") + " (" + why + (withinError ? "; the target is within the error" : "") + ")";
  }

  /** Three significant digits, no exponent: 47.6, 0.123, 1,107 stays 1107. */
  static String number(double value) {
    if (Double.isNaN(value)) {
      return "?";
    }
    double magnitude = Math.abs(value);
    if (magnitude >= 100) {
      return String.format(Locale.ROOT, "%.0f", value);
    }
    if (magnitude >= 10) {
      return String.format(Locale.ROOT, "%.1f", value);
    }
    if (magnitude >= 1) {
      return String.format(Locale.ROOT, "%.2f", value);
    }
    return String.format(Locale.ROOT, "%.3f", value);
  }
}
