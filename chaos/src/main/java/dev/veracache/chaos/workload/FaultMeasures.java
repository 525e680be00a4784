package dev.veracache.chaos.workload;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the fault injection of one run counted (keys Redis evicted, sets held until a delete landed, keys restored from
 * an old snapshot, tables truncated...), for the report, and which of those counts prove that the fault took effect.
 * A clean Veracache verdict on a fault that never happened is hollow, so a run whose proving count stayed 0 is a
 * violation (see {@code Expectations}), for baselines and Veracache alike.
 *
 * <p>Invariants: a name is counted in the order it was first declared or added; a proving count is declared before the
 * run starts (so that "never counted" reads as 0, not as absent); counts only grow. Thread-safe.
 */
public final class FaultMeasures {

  /** What a run's report keeps: the counts in order and the names that must be positive. */
  public record Result(Map<String, Long> counts, Set<String> proving) {

    public static final Result NONE = new Result(Map.of(), Set.of());

    public Result {
      counts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(counts));
      proving = Set.copyOf(proving);
    }

    /** The proving counts that stayed 0: the fault did not take effect. */
    public List<String> ineffective() {
      return proving.stream().filter(name -> counts.getOrDefault(name, 0L) == 0).sorted().toList();
    }

    /** "name n, name n" for the report; "-" when nothing was counted. */
    public String text() {
      if (counts.isEmpty()) {
        return "-";
      }
      return counts.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    }
  }

  private final Map<String, Long> counts = new LinkedHashMap<>();
  private final Set<String> proving = new LinkedHashSet<>();

  /** Declares a count that must end above 0 for the run to prove anything. */
  public synchronized void requirePositive(String name) {
    counts.putIfAbsent(name, 0L);
    proving.add(name);
  }

  public synchronized void add(String name, long amount) {
    if (amount < 0) {
      throw new IllegalArgumentException("fault measure '" + name + "' cannot shrink by " + amount);
    }
    counts.merge(name, amount, Long::sum);
  }

  public void increment(String name) {
    add(name, 1);
  }

  public synchronized Result result() {
    return new Result(counts, proving);
  }
}
