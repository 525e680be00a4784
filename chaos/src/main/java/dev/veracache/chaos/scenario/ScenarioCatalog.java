package dev.veracache.chaos.scenario;

import dev.veracache.chaos.scenario.Scenario.Anomaly;
import dev.veracache.chaos.scenario.Scenario.CacheSpec;
import dev.veracache.chaos.scenario.Scenario.FaultSpec;
import dev.veracache.chaos.scenario.Scenario.RaceSpec;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.scenario.Scenario.WorkloadSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Scenarios as data: a YAML file with optional {@code defaults} and a list of {@code scenarios}, each a flat mapping
 * of the fields of {@link Scenario} and its specs by name ({@link Entry}: {@code fault} is {@code FaultSpec.kind}).
 * The built-in catalogue is {@code scenarios.yaml} beside this class; {@link #load(Path)} reads another file of the
 * same shape. Every mistake is reported with the file, the scenario and the field: unknown
 * fields, values out of range, strategies that cannot run under the scenario's fault or workload, baselines with no
 * expected anomaly.
 */
public final class ScenarioCatalog {

  public static final String BUILT_IN = "scenarios.yaml";
  private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");
  private static final List<String> EVICTION_POLICIES = List.of("allkeys-random", "allkeys-lru", "allkeys-lfu");
  private static final YAMLMapper YAML = YAMLMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .build();
  /** Values a file may leave out. */
  private static final Map<String, Object> DEFAULTS = defaults();

  private final List<Scenario> scenarios;

  private ScenarioCatalog(List<Scenario> scenarios) {
    this.scenarios = List.copyOf(scenarios);
  }

  /** The built-in catalogue, covering the races of the contract and the infrastructure faults. */
  public static ScenarioCatalog builtIn() {
    try (InputStream in = ScenarioCatalog.class.getResourceAsStream(BUILT_IN)) {
      if (in == null) {
        throw new IllegalStateException(BUILT_IN + " is missing from the classpath");
      }
      return parse(in, BUILT_IN);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static ScenarioCatalog load(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return parse(in, file.toString());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read scenario file " + file + ": " + e.getMessage(), e);
    }
  }

  public static ScenarioCatalog parse(InputStream yaml, String source) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(source + " is not valid YAML: " + firstLine(e), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(source + ": expected a mapping with 'defaults' and 'scenarios'");
    }
    for (String field : root.propertyNames()) {
      if (!field.equals("defaults") && !field.equals("scenarios")) {
        throw new IllegalArgumentException(source + ": unknown top-level field '" + field
            + "' (expected 'defaults' and 'scenarios')");
      }
    }
    ObjectNode defaults = YAML.valueToTree(DEFAULTS);
    JsonNode fileDefaults = root.get("defaults");
    if (fileDefaults != null) {
      if (!fileDefaults.isObject()) {
        throw new IllegalArgumentException(source + ": 'defaults' must be a mapping");
      }
      defaults.setAll((ObjectNode) fileDefaults);
    }
    JsonNode list = root.get("scenarios");
    if (list == null || !list.isArray() || list.isEmpty()) {
      throw new IllegalArgumentException(source + ": expected a non-empty list under 'scenarios'");
    }
    List<String> problems = new ArrayList<>();
    removeUnknownFields(defaults, source + " defaults", problems);
    List<Scenario> scenarios = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int index = 0;
    for (JsonNode node : list) {
      String where = source + " scenarios[" + index++ + "]"
          + (node.hasNonNull("id") ? " (" + node.get("id").asString() + ")" : "");
      if (!node.isObject()) {
        problems.add(where + ": must be a mapping");
        continue;
      }
      ObjectNode merged = defaults.deepCopy();
      ObjectNode own = ((ObjectNode) node).deepCopy();
      removeUnknownFields(own, where, problems);
      merged.setAll(own);
      Scenario scenario;
      try {
        scenario = YAML.treeToValue(merged, Entry.class).toScenario();
        if (scenario.windowMillis() == 0) {
          merged.put("windowMillis", scenario.derivedWindowMillis());
          scenario = YAML.treeToValue(merged, Entry.class).toScenario();
        }
      } catch (JacksonException e) {
        problems.add(where + ": " + fieldOf(e) + firstLine(e));
        continue;
      }
      int before = problems.size();
      validate(scenario, where, problems);
      if (scenario.id() != null && !ids.add(scenario.id())) {
        problems.add(where + ": id '" + scenario.id() + "' is used twice (field 'id')");
      }
      if (problems.size() == before) {
        scenarios.add(scenario);
      }
    }
    if (!problems.isEmpty()) {
      throw new ScenarioFileException(problems);
    }
    return new ScenarioCatalog(scenarios);
  }

  /** "field 'keys': " for a value Jackson could not read into a field (a wrong type, an unknown enum constant). */
  private static String fieldOf(JacksonException e) {
    return e.getPath().stream().map(JacksonException.Reference::getPropertyName).filter(name -> name != null)
        .findFirst().map(name -> "field '" + name + "': ").orElse("");
  }

  /** A Jackson message's first line, with where the parser was when it has one: a problem is one line. */
  private static String firstLine(JacksonException e) {
    String first = e.getOriginalMessage() == null ? "unreadable"
        : e.getOriginalMessage().lines().findFirst().orElse("unreadable");
    return e.getLocation() == null || e.getLocation().getLineNr() < 1 ? first
        : first + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
  }

  /**
   * One scenario as the file spells it: one key per field, the specs' fields beside the scenario's own ({@code fault}
   * is the fault's kind). Flat, so that a file (and every problem reported about it) names a field by one word.
   */
  private record Entry(String id, String race, String title, String description, FaultKind fault,
      List<Strategy> strategies, Map<Strategy, Set<Anomaly>> expect, int seconds, int keys, int instances,
      int readersPerInstance, int readsPerSecondPerReader, int writers, int writesPerSecond, int windowMillis,
      int raceHoldMillis, int fillDelayAfterWriteMillis, int loadDelayMillis, int leaseWaitMillis,
      int tombstoneTtlMillis, int latencyMillis, double deleteFraction, boolean alternateKeys,
      double skuChangeFraction, boolean writersShareKeys, int herdThreshold, int doubleDeleteDelayMillis,
      int deleteOnlyWriters, double faultFraction, int listenerStalenessBoundMillis, String evictionPolicy,
      int memoryHeadroomKib, int racingReadersPerInstance, int racingWriters, int minCacheHitPercent,
      int minAvailabilityInFaultPercent) {

    Scenario toScenario() {
      return new Scenario(id, race, title, description, strategies, expect, seconds, windowMillis,
          new WorkloadSpec(keys, instances, readersPerInstance, readsPerSecondPerReader, writers, writesPerSecond,
              deleteFraction, alternateKeys, skuChangeFraction, writersShareKeys, deleteOnlyWriters, loadDelayMillis),
          new RaceSpec(raceHoldMillis, fillDelayAfterWriteMillis, racingReadersPerInstance, racingWriters),
          fault == null ? null : new FaultSpec(fault, faultFraction, latencyMillis, evictionPolicy, memoryHeadroomKib),
          new CacheSpec(leaseWaitMillis, tombstoneTtlMillis, doubleDeleteDelayMillis, listenerStalenessBoundMillis),
          herdThreshold, minCacheHitPercent, minAvailabilityInFaultPercent);
    }
  }

  /** The fields a scenario may set: the components of {@link Entry}. */
  private static final Set<String> FIELDS = java.util.Arrays.stream(Entry.class.getRecordComponents())
      .map(java.lang.reflect.RecordComponent::getName).collect(java.util.stream.Collectors.toCollection(
          java.util.TreeSet::new));

  /** Reports and drops every field that is not a scenario field, naming the valid ones. */
  private static void removeUnknownFields(ObjectNode node, String where, List<String> problems) {
    for (String field : List.copyOf(node.propertyNames())) {
      if (!FIELDS.contains(field)) {
        problems.add(where + ": unknown field '" + field + "' (valid fields: " + String.join(", ", FIELDS) + ")");
        node.remove(field);
      }
    }
  }

  public List<Scenario> scenarios() {
    return scenarios;
  }

  /** The scenarios with these ids, in the order given; "all" (or nothing) for every scenario. */
  public List<Scenario> select(List<String> ids) {
    if (ids == null || ids.isEmpty() || ids.equals(List.of("all"))) {
      return scenarios;
    }
    Map<String, Scenario> byId = new LinkedHashMap<>();
    scenarios.forEach(s -> byId.put(s.id(), s));
    List<Scenario> chosen = new ArrayList<>();
    for (String id : ids) {
      Scenario s = byId.get(id);
      if (s == null) {
        throw new IllegalArgumentException("no scenario '" + id + "'; known: " + String.join(", ", byId.keySet()));
      }
      chosen.add(s);
    }
    return chosen;
  }

  private static void validate(Scenario s, String where, List<String> problems) {
    if (s.id() == null || s.fault() == null || s.strategies() == null || s.strategies().isEmpty()) {
      require(problems, s.id() != null, where, "id", "is required");
      require(problems, s.fault() != null, where, "fault", "is required (one of " + List.of(FaultKind.values()) + ")");
      require(problems, s.strategies() != null && !s.strategies().isEmpty(), where, "strategies",
          "must list at least one");
      return; // the checks below need these
    }
    WorkloadSpec w = s.workload();
    RaceSpec r = s.raceInjection();
    FaultSpec f = s.fault();
    CacheSpec c = s.cache();
    require(problems, s.id() != null && ID.matcher(s.id()).matches(), where, "id",
        "must be lower-case letters, digits and '-', was " + s.id());
    require(problems, s.title() != null && !s.title().isBlank(), where, "title", "is required");
    require(problems, s.seconds() >= 1, where, "seconds", "must be >= 1, was " + s.seconds());
    require(problems, w.keys() >= 1, where, "keys", "must be >= 1, was " + w.keys());
    require(problems, w.instances() >= 1, where, "instances", "must be >= 1, was " + w.instances());
    require(problems, w.readersPerInstance() >= 0, where, "readersPerInstance", "must be >= 0");
    require(problems, w.readsPerSecondPerReader() >= 1, where, "readsPerSecondPerReader",
        "must be >= 1, was " + w.readsPerSecondPerReader());
    require(problems, w.writers() >= 1, where, "writers", "must be >= 1, was " + w.writers());
    require(problems, w.writesPerSecond() >= 1, where, "writesPerSecond", "must be >= 1, was " + w.writesPerSecond());
    require(problems, s.windowMillis() >= 0, where, "windowMillis", "must be >= 0");
    require(problems, s.minCacheHitPercent() >= 0 && s.minCacheHitPercent() <= 100, where, "minCacheHitPercent",
        "must be in [0, 100], was " + s.minCacheHitPercent());
    require(problems, s.minAvailabilityInFaultPercent() >= 0 && s.minAvailabilityInFaultPercent() <= 100, where,
        "minAvailabilityInFaultPercent", "must be in [0, 100], was " + s.minAvailabilityInFaultPercent());
    notNegative(problems, where, "raceHoldMillis", r.raceHoldMillis());
    notNegative(problems, where, "fillDelayAfterWriteMillis", r.fillDelayAfterWriteMillis());
    notNegative(problems, where, "loadDelayMillis", w.loadDelayMillis());
    notNegative(problems, where, "latencyMillis", f.latencyMillis());
    notNegative(problems, where, "tombstoneTtlMillis", c.tombstoneTtlMillis());
    notNegative(problems, where, "doubleDeleteDelayMillis", c.doubleDeleteDelayMillis());
    require(problems, c.leaseWaitMillis() >= 1, where, "leaseWaitMillis", "must be >= 1");
    require(problems, w.deleteFraction() >= 0 && w.deleteFraction() < 1, where, "deleteFraction", "must be in [0, 1)");
    require(problems, w.skuChangeFraction() >= 0 && w.skuChangeFraction() <= 1, where, "skuChangeFraction",
        "must be in [0, 1]");
    require(problems, f.kind() != FaultKind.PARTITION_INSTANCE || w.instances() >= 2, where, "instances",
        "must be >= 2 for PARTITION_INSTANCE (one instance is cut off, the others are not)");
    require(problems, w.deleteOnlyWriters() >= 0 && w.deleteOnlyWriters() < w.writers(), where, "deleteOnlyWriters",
        "must be in [0, writers - 1] (some writer must insert the rows again), was " + w.deleteOnlyWriters());
    require(problems, f.faultFraction() > 0 && f.faultFraction() < 1, where, "faultFraction",
        "must be in (0, 1), was " + f.faultFraction());
    require(problems, f.memoryHeadroomKib() >= 64, where, "memoryHeadroomKib",
        "must be >= 64 (client buffers alone move Redis's memory by tens of KiB), was " + f.memoryHeadroomKib());
    require(problems, r.racingReadersPerInstance() >= -1
        && r.racingReadersPerInstance() <= w.readersPerInstance(), where,
        "racingReadersPerInstance", "must be -1 (all) or in [0, readersPerInstance], was "
        + r.racingReadersPerInstance());
    require(problems, r.racingWriters() >= -1 && r.racingWriters() <= w.writers(), where, "racingWriters",
        "must be -1 (all) or in [0, writers], was " + r.racingWriters());
    require(problems, c.listenerStalenessBoundMillis() >= 0, where, "listenerStalenessBoundMillis", "must not be negative");
    require(problems, c.listenerStalenessBoundMillis() == 0 || s.windowMillis() >= s.boundedWindowMillis(), where,
        "windowMillis", "must be >= 2 x listenerStalenessBoundMillis + the client heartbeat ("
        + Scenario.CLIENT_HEARTBEAT_MILLIS + " ms) = " + s.boundedWindowMillis() + ", was " + s.windowMillis()
        + ": a client may read an answer up to bound + heartbeat old while it trusts Redis, and serve it from L1 for "
        + "up to bound more once it stops trusting");
    if (s.windowMillis() < 0 || s.seconds() < 1) {
      return; // the window checks below need both
    }
    require(problems, s.windowMillis() >= s.detectionBudgetMillis(), where, "windowMillis", "must be >= the detection "
        + "budget of the scenario's fault and configuration (" + s.detectionBudgetMillis() + " ms, see "
        + "Scenario.detectionBudgetMillis), was " + s.windowMillis() + "; leave it out to derive it (budget + "
        + Scenario.WINDOW_MARGIN_MILLIS + " ms)");
    String judgeability = s.judgeabilityProblem();
    require(problems, judgeability == null, where, "windowMillis", judgeability);
    require(problems, EVICTION_POLICIES.contains(f.evictionPolicy()), where, "evictionPolicy",
        "must be one of " + EVICTION_POLICIES + " (the filler keys carry no TTL: a volatile policy would end in "
        + "out-of-memory errors, not evictions), was " + f.evictionPolicy());
    require(problems, f.kind() != FaultKind.SET_VS_DELETE || w.deleteFraction() > 0 || w.deleteOnlyWriters() > 0, where,
        "deleteOnlyWriters", "SET_VS_DELETE holds sets until a delete: the workload must delete (deleteOnlyWriters "
        + "or deleteFraction)");
    Map<Strategy, Set<Anomaly>> expect = s.expect() == null ? Map.of() : s.expect();
    for (Strategy strategy : expect.keySet()) {
      require(problems, s.strategies().contains(strategy), where, "expect", strategy + " is not among the strategies");
      require(problems, strategy.baseline, where, "expect", strategy + " is not a baseline: Veracache strategies must show "
          + "no anomaly, that is not configurable");
    }
    for (Strategy strategy : s.strategies()) {
      require(problems, !strategy.baseline || !expect.getOrDefault(strategy, Set.of()).isEmpty(), where, "expect",
          "baseline " + strategy + " needs the anomaly it is known for (a baseline that shows nothing proves nothing)");
      boolean writeThrough = strategy.writeThrough();
      require(problems, !writeThrough || !w.alternateKeys(), where, "strategies",
          strategy + " runs only with rows cached by primary key (alternateKeys false)");
      require(problems, f.kind() != FaultKind.SET_REORDER || writeThrough, where, "strategies",
          "SET_REORDER reorders cache sets: only write-through strategies make them, not " + strategy);
      require(problems, f.kind() != FaultKind.SET_VS_DELETE || writeThrough, where, "strategies",
          "SET_VS_DELETE holds cache sets: only write-through strategies make them, not " + strategy);
      require(problems, strategy != Strategy.CDC_ONLY_UNBOUNDED || c.listenerStalenessBoundMillis() > 0, where, "strategies",
          "CDC_ONLY_UNBOUNDED is the baseline of a listener staleness bound: set listenerStalenessBoundMillis");
      boolean writeBehindFault = f.kind() == FaultKind.PROCESS_KILL || f.kind() == FaultKind.BROKER_RESTART;
      require(problems, strategy.writeBehind() == writeBehindFault, where, "strategies",
          "the write-behind strategies (HEAP_WRITE_BEHIND, VERACACHE_WRITE_BEHIND) and the write-behind faults "
          + "(PROCESS_KILL, BROKER_RESTART) go together, not " + strategy + " with " + f.kind());
      require(problems, f.kind() != FaultKind.BROKER_RESTART || strategy == Strategy.VERACACHE_WRITE_BEHIND, where,
          "strategies", "BROKER_RESTART restarts the Kafka broker of a write-behind log: only VERACACHE_WRITE_BEHIND "
          + "has one, not " + strategy);
      require(problems, strategy.usesCdc
          || (f.kind() != FaultKind.LISTENER_CRASH && f.kind() != FaultKind.LISTENER_PAUSE), where,
          "strategies", strategy + " has no CDC listener to crash or pause");
    }
  }

  private static void require(List<String> problems, boolean ok, String where, String field, String message) {
    if (!ok) {
      problems.add(where + ": field '" + field + "' " + message);
    }
  }

  private static void notNegative(List<String> problems, String where, String field, int value) {
    require(problems, value >= 0, where, field, "must not be negative, was " + value);
  }

  private static Map<String, Object> defaults() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("race", "-");
    d.put("description", "");
    d.put("expect", Map.of());
    d.put("seconds", 3);
    d.put("keys", 20);
    d.put("instances", 2);
    d.put("readersPerInstance", 2);
    d.put("readsPerSecondPerReader", 1000);
    d.put("writers", 1);
    d.put("writesPerSecond", 100);
    d.put("windowMillis", 0); // derived: Scenario.derivedWindowMillis
    d.put("raceHoldMillis", 300);
    d.put("fillDelayAfterWriteMillis", 0);
    d.put("loadDelayMillis", 0);
    d.put("leaseWaitMillis", 200);
    d.put("tombstoneTtlMillis", 0);
    d.put("latencyMillis", 50);
    d.put("deleteFraction", 0.0);
    d.put("alternateKeys", false);
    d.put("skuChangeFraction", 0.3);
    d.put("writersShareKeys", false);
    d.put("herdThreshold", 0);
    d.put("doubleDeleteDelayMillis", 15);
    d.put("deleteOnlyWriters", 0);
    d.put("faultFraction", 1.0 / 3);
    d.put("listenerStalenessBoundMillis", 0);
    d.put("evictionPolicy", "allkeys-random");
    d.put("memoryHeadroomKib", 1024);
    d.put("racingReadersPerInstance", -1);
    d.put("racingWriters", -1);
    d.put("minCacheHitPercent", 50);
    d.put("minAvailabilityInFaultPercent", 99);
    return d;
  }
}
