package dev.veracache.cdc.internal;

import dev.veracache.cdc.CdcOptions;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The meters of one listener (tag {@code listener}): counters the other parts increment, gauges read from them.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Meters follow the instance.</b> Every meter registered here is removed by {@link #close()}, so the next
 *       listener of that name registers its own.</li>
 *   <li><b>One open listener per name and registry</b> (identity): a second is refused when it is built, as its meters
 *       would be the first one's.</li>
 * </ul>
 */
public final class ListenerMetrics implements AutoCloseable {

  /** Listener names with open instances, per registry (identity): their meters would be one another's. */
  private static final Map<MeterRegistry, Set<String>> NAMES_IN_USE = new WeakHashMap<>();

  private final MeterRegistry registry;
  private final String name;
  private final List<Meter> meters = new CopyOnWriteArrayList<>();
  final AtomicLong lastCommitMillis = new AtomicLong();
  final AtomicInteger backlog = new AtomicInteger();
  final Counter eventsApplied;
  final Counter eventsUnmapped;
  final Counter keysInvalidated;
  final Counter retries;
  final Counter purgedFlushed;
  final Counter purgedFailed;
  final Counter stalls;
  final Counter firstStartsFlushed;
  final Counter firstStartsAssumedFresh;
  final Counter namespacesFlushed;
  final Counter redisDataLossesFlushed;
  final Counter redisDataLossesFailed;
  final Counter redisDataLossesIgnored;
  final Counter progressPublished;
  /** Batches sent again before their progress record, the connection to Redis having changed since they were sent. */
  final Counter batchesResent;
  /** Kafka mode: batches whose offsets the group took, or refused (a rebalance; the next reader replays them). */
  final Counter kafkaCommits;
  final Counter kafkaCommitsRefused;
  /** Kafka mode: flushes because a partition's position was lost (deleted by retention before it was read). */
  final Counter lostPositionFlushes;
  /** Per row change of a mapped table: commit (binlog header time) to read by the connector. */
  final Timer eventRead;
  /** Per row change: read by the connector to handed to the listener in a batch (Debezium's queue and polling). */
  final Timer eventQueued;
  /** Per row change: read by the connector to every invalidation of its batch acknowledged by Redis. */
  final Timer eventApplied;
  /** Per batch: the end of the previous batch to this one handed over (Debezium's polling, idle time included). */
  final Timer batchPoll;
  /** Per batch: handed over to its invalidations sent (mapping, key rendering). */
  final Timer batchMap;
  /** Per batch: sent to acknowledged by Redis (the pipelined round trip, retries, durability wait). */
  final Timer batchRedis;
  /** Per batch: the progress record (sequence check and advance, progress publish). */
  final Timer batchProgress;
  /** Per batch: positions marked processed and the batch finished (Debezium's offset commit). */
  final Timer batchOffsets;
  /** Row changes of mapped tables per batch. */
  final DistributionSummary batchSize;
  private volatile BooleanSupplier live = () -> false;

  /** Claims the name and registers the counters; the gauges follow in {@link #registerGauges}. */
  public ListenerMetrics(CdcOptions options) {
    this.registry = options.meterRegistry();
    this.name = options.name();
    claimName(registry, name);
    try {
      eventsApplied = counter("veracache.cdc.events", "result", "applied",
          "Row changes whose invalidations Redis took");
      eventsUnmapped = counter("veracache.cdc.events", "result", "unmapped",
          "Row changes of tables with no mapping (skipped)");
      keysInvalidated = counter("veracache.cdc.invalidations", null, null, "Cache keys invalidated");
      retries = counter("veracache.cdc.retries", null, null, "Batches retried because Redis did not take them");
      keep(Gauge.builder("veracache.cdc.backlog", backlog, AtomicInteger::get).tag("listener", name)
          .description("Invalidations received but not yet taken by Redis").register(registry));
      keep(Gauge.builder("veracache.cdc.lag", lastCommitMillis, ListenerMetrics::lagMillis).tag("listener", name)
          .baseUnit("milliseconds").description("Now minus the commit time of the last applied change")
          .register(registry));
      stalls = counter("veracache.cdc.stalls", null, null,
          "Times a batch was retried for longer than the stall threshold");
      String purged = "Stored positions found purged from the binlog";
      purgedFlushed = counter("veracache.cdc.purged.positions", "action", "flushed", purged);
      purgedFailed = counter("veracache.cdc.purged.positions", "action", "failed", purged);
      String first = "Starts without a stored position";
      firstStartsFlushed = counter("veracache.cdc.first.starts", "action", "flushed", first);
      firstStartsAssumedFresh = counter("veracache.cdc.first.starts", "action", "assumed_fresh", first);
      namespacesFlushed = counter("veracache.cdc.namespaces.flushed", null, null,
          "Mapped namespaces flushed because invalidations may have been lost");
      String lost = "Times Redis was found to have lost invalidations it had acknowledged";
      redisDataLossesFlushed = counter("veracache.cdc.redis.data.losses", "action", "flushed", lost);
      redisDataLossesFailed = counter("veracache.cdc.redis.data.losses", "action", "failed", lost);
      redisDataLossesIgnored = counter("veracache.cdc.redis.data.losses", "action", "ignored", lost);
      progressPublished = counter("veracache.cdc.progress.published", null, null,
          "Progress records published for clients (everything before a marker row applied)");
      batchesResent = counter("veracache.cdc.batches.resent", null, null, "Batches sent to Redis again before their "
          + "progress record: a connection dropped or the topology changed since they were sent, or the record failed");
      String commits = "Kafka mode: batch offset commits after Redis took the batch";
      kafkaCommits = counter("veracache.cdc.kafka.commits", "result", "committed", commits);
      kafkaCommitsRefused = counter("veracache.cdc.kafka.commits", "result", "refused", commits);
      lostPositionFlushes = counter("veracache.cdc.kafka.lost.positions", null, null,
          "Kafka mode: flushes of the mapped namespaces because records were deleted before the group read them");
      String perChange = "Per row change of a mapped table, time between two points of its way to Redis";
      eventRead = timer("veracache.cdc.event.stage", "read", perChange);
      eventQueued = timer("veracache.cdc.event.stage", "queued", perChange);
      eventApplied = timer("veracache.cdc.event.stage", "applied", perChange);
      String perBatch = "Per batch handed over by Debezium, time spent in each step of its handling";
      batchPoll = timer("veracache.cdc.batch.stage", "poll", perBatch);
      batchMap = timer("veracache.cdc.batch.stage", "map", perBatch);
      batchRedis = timer("veracache.cdc.batch.stage", "redis", perBatch);
      batchProgress = timer("veracache.cdc.batch.stage", "progress", perBatch);
      batchOffsets = timer("veracache.cdc.batch.stage", "offsets", perBatch);
      batchSize = keep(DistributionSummary.builder("veracache.cdc.batch.size").tag("listener", name)
          .baseUnit("changes").description("Row changes of mapped tables per batch").register(registry));
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The gauges read from the listener's parts: whether it is live, and its unapplied batch (age, stall). */
  public void registerGauges(BooleanSupplier live, RedisRetry retry) {
    this.live = live; // held here: a gauge holds its object weakly
    keep(Gauge.builder("veracache.cdc.live", this, m -> m.live.getAsBoolean() ? 1 : 0).tag("listener", name)
        .description("1 while the listener is proven to see new commits and not stalled").register(registry));
    keep(Gauge.builder("veracache.cdc.oldest.unapplied.age", retry, RedisRetry::oldestUnappliedAgeMillis)
        .tag("listener", name).baseUnit("milliseconds")
        .description("How long ago the oldest change not yet taken by Redis was received; 0 when none")
        .register(registry));
    keep(Gauge.builder("veracache.cdc.stalled", retry, r -> r.isStalled() ? 1 : 0).tag("listener", name)
        .description("1 while a batch has been retried for longer than the stall threshold").register(registry));
  }

  /** The whole-table change counter of one table, reason and action (flushed, failed). */
  Counter tableChange(String table, String reason, String action) {
    return keep(Counter.builder("veracache.cdc.table.changes").tag("listener", name).tag("table", table)
        .tag("reason", reason).tag("action", action)
        .description("Whole-table changes (TRUNCATE, DROP, RENAME, ...) of mapped tables").register(registry));
  }

  /** Now minus the commit time of the last applied change, ms; 0 before the first. */
  public long lagMillis() {
    return lagMillis(lastCommitMillis);
  }

  private static long lagMillis(AtomicLong lastCommitMillis) {
    long last = lastCommitMillis.get();
    return last == 0 ? 0 : Math.max(0, System.currentTimeMillis() - last);
  }

  private Timer timer(String meter, String stage, String description) {
    return keep(Timer.builder(meter).tag("listener", name).tag("stage", stage).description(description)
        .register(registry));
  }

  /** Records a span of milliseconds between two clocks that may disagree: negative spans count as 0. */
  static void recordMillis(Timer timer, long millis) {
    timer.record(Math.max(0, millis), TimeUnit.MILLISECONDS);
  }

  private Counter counter(String meter, String tag, String value, String description) {
    Counter.Builder builder = Counter.builder(meter).tag("listener", name).description(description);
    return keep((tag == null ? builder : builder.tag(tag, value)).register(registry));
  }

  private <M extends Meter> M keep(M meter) {
    if (!meters.contains(meter)) {
      meters.add(meter);
    }
    return meter;
  }

  /** Removes every meter of this listener and releases its name. */
  @Override
  public void close() {
    for (Meter meter : meters) {
      registry.remove(meter);
    }
    meters.clear();
    synchronized (NAMES_IN_USE) {
      Set<String> names = NAMES_IN_USE.get(registry);
      if (names != null) {
        names.remove(name);
      }
    }
  }

  private static void claimName(MeterRegistry registry, String name) {
    synchronized (NAMES_IN_USE) {
      if (!NAMES_IN_USE.computeIfAbsent(registry, r -> new HashSet<>()).add(name)) {
        throw new IllegalStateException("a CDC listener named '" + name + "' is already open with this MeterRegistry: "
            + "close it before starting another, or give this one another name (CdcOptions name)");
      }
    }
  }
}
