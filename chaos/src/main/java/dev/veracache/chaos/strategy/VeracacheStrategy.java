package dev.veracache.chaos.strategy;

import dev.veracache.CacheAside;
import dev.veracache.CacheOptions;
import dev.veracache.CacheWriter;
import dev.veracache.ReadThroughCache;
import dev.veracache.TieredCache;
import dev.veracache.ValueCodec;
import dev.veracache.Veracache;
import dev.veracache.VeracacheOptions;
import dev.veracache.WriteThroughCache;
import dev.veracache.chaos.check.RedisReader;
import dev.veracache.chaos.scenario.Scenario;
import dev.veracache.chaos.workload.FaultMeasures;
import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.RunContext;
import dev.veracache.chaos.workload.Workload;
import dev.veracache.testing.L1Peek;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;

/**
 * Veracache, as an application would use it: one {@link Veracache} client per instance (its own connection, tracking
 * and L1), versioned values (the row version), the CDC listener running beside it (started by the runner). Cache-aside
 * and read-through invalidate after each commit with the row version ({@link TieredCache#invalidateDeleted} for a
 * delete); write-through writes the database through its {@link CacheWriter} and sets the committed version, or
 * deletes through it; CDC_ONLY (and the FORGETFUL_CDC and CDC_ONLY_UNBOUNDED baselines) leave invalidation to the
 * listener alone. With the scenario's {@code listenerStalenessBoundMillis}, every Veracache strategy (never a baseline)
 * trusts Redis and L1 only while the listener's published progress is within that bound.
 *
 * <p>Timeouts are short, as the chaos configuration, and written once in {@link Scenario} (the detection budget that W
 * is derived from is made of them): a 300 ms command timeout, a 100 ms heartbeat, 100 ms L1 trust while degraded and
 * 300 ms of recovery grace.
 */
final class VeracacheStrategy implements CacheUnderTest {

  /** The write-through writer runs on the writer's thread, inside put: it finds its writer and row here. */
  private static final ThreadLocal<PendingWrite> PENDING = new ThreadLocal<>();

  private record PendingWrite(RunContext.Writer writer, int row, Workload.Intent intent,
      Workload.Commit[] committed) {}

  private final RunContext context;
  private final Veracache veracache;
  private final TieredCache<String, String> tiered;
  private final CacheAside<String, String> aside;
  private final ReadThroughCache<String, String> readThrough;
  private final WriteThroughCache<String, String> writeThrough;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  /**
   * Changes to the configuration this class gives Veracache, applied last: for the deliberately broken variants the
   * chaos tests run through the checker (the chaos configuration is not meant to be tuned per run otherwise).
   */
  /** How the application uses the cache. */
  enum Pattern { CACHE_ASIDE, READ_THROUGH, WRITE_THROUGH }

  interface Tweaks {
    Tweaks NONE = new Tweaks() {};

    default VeracacheOptions.Builder client(VeracacheOptions.Builder client) {
      return client;
    }

    default CacheOptions.Builder<String, String> cache(CacheOptions.Builder<String, String> cache) {
      return cache;
    }
  }

  VeracacheStrategy(RunContext context, int instance, String redisUri, Pattern pattern) {
    this(context, instance, redisUri, pattern, Tweaks.NONE);
  }

  VeracacheStrategy(RunContext context, int instance, String redisUri, Pattern pattern, Tweaks tweaks) {
    this.context = context;
    VeracacheOptions.Builder client = RedisReader.isCluster(redisUri)
        ? VeracacheOptions.clusterBuilder(RedisReader.seeds(redisUri))
            .addressMapping(RedisReader.addressMapping(redisUri))
        : VeracacheOptions.builder(redisUri);
    if (context.scenario.invalidationsAwaitAReplica(context.strategy)) {
      client.invalidationReplicas(1); // a failover loses what no replica got: this client's invalidations wait
    }
    this.veracache = Veracache.create(tweaks.client(client.clientName("chaos-" + instance)
        .commandTimeout(Duration.ofMillis(Scenario.CLIENT_COMMAND_TIMEOUT_MILLIS))
        .heartbeatInterval(Duration.ofMillis(Scenario.CLIENT_HEARTBEAT_MILLIS))
        .degradedL1Ttl(Duration.ofMillis(Scenario.CLIENT_DEGRADED_L1_MILLIS))
        .recoveryGrace(Duration.ofMillis(Scenario.CLIENT_RECOVERY_GRACE_MILLIS))
        .meterRegistry(meters)).build());
    CacheOptions.Builder<String, String> options = CacheOptions.<String, String>builder(context.namespace,
            ValueCodec.utf8())
        .version(Long::parseLong).leaseWaitTimeout(Duration.ofMillis(context.scenario.cache().leaseWaitMillis()))
        .hooks(context.hooks);
    if (context.strategy.takesListenerBound() && context.scenario.cache().listenerStalenessBoundMillis() > 0) {
      options.listenerStalenessBound(Duration.ofMillis(context.scenario.cache().listenerStalenessBoundMillis()));
    }
    int tombstoneTtl = context.scenario.cache().tombstoneTtlMillis();
    if (tombstoneTtl > 0) {
      // The library refuses a tombstone shorter than a lease (it would reopen R12): leases get the same lifetime.
      Duration ttl = Duration.ofMillis(tombstoneTtl);
      options.tombstoneTtl(ttl).leaseTtl(ttl)
          .leaseWaitTimeout(Duration.ofMillis(Math.min(tombstoneTtl, context.scenario.cache().leaseWaitMillis())));
    }
    options = tweaks.cache(options);
    CacheAside<String, String> aside = null;
    ReadThroughCache<String, String> readThrough = null;
    WriteThroughCache<String, String> writeThrough = null;
    switch (pattern) {
      case READ_THROUGH -> readThrough = veracache.readThrough(options.build(), context.loader);
      case WRITE_THROUGH -> writeThrough = veracache.writeThrough(options.build(), context.loader, new RowWriter());
      case CACHE_ASIDE -> aside = veracache.cacheAside(options.build());
    }
    this.aside = aside;
    this.readThrough = readThrough;
    this.writeThrough = writeThrough;
    this.tiered = aside != null ? aside.tiered() : readThrough != null ? readThrough.tiered() : writeThrough.tiered();
  }

  @Override
  public long read(String key) {
    String value = aside != null ? aside.get(key, context.loader) : readThrough != null ? readThrough.get(key)
        : writeThrough.get(key);
    return NaiveRedisStrategy.version(value);
  }

  @Override
  public void write(RunContext.Writer writer, int row) throws Exception {
    if (writeThrough != null) {
      Workload.Commit[] committed = new Workload.Commit[1];
      Workload.Intent intent = writer.nextIntent();
      PENDING.set(new PendingWrite(writer, row, intent, committed));
      try {
        if (intent == Workload.Intent.DELETE) {
          writeThrough.delete("k" + row);
        } else {
          writeThrough.put("k" + row, "");
        }
      } finally {
        PENDING.remove();
        if (committed[0] != null) {
          writer.settle(committed[0]);
        }
      }
      return;
    }
    Workload.Commit commit = writer.commit(row);
    if (context.strategy.appInvalidates()) {
      for (String key : commit.appInvalidates()) {
        if (commit.deleted(key)) {
          tiered.invalidateDeleted(key, commit.version()); // the delete took this version: nothing at or below it
        } else {
          tiered.invalidate(key, commit.version());
        }
      }
    }
    writer.settle(commit);
  }

  /** This instance's L1, through the library's testing accessor {@link L1Peek}: no load, no Redis, no count. */
  @Override
  public Long peekL1(String key) {
    L1Peek.Entry<String> entry = L1Peek.peek(tiered, key);
    if (!entry.present()) {
      return null;
    }
    return entry.notFound() ? History.NOT_FOUND : NaiveRedisStrategy.version(entry.value());
  }

  /** A Veracache record (see record.lua): {@code V:<version>:<payload>} (the payload is the version), {@code N:...}. */
  @Override
  public Long parseRedisValue(String raw) {
    if (raw == null || raw.startsWith("T:") || raw.startsWith("P:") || raw.startsWith("D:")) { // tombstones, leases
      return null;
    }
    if (raw.startsWith("N:")) {
      return History.NOT_FOUND;
    }
    int payload = raw.indexOf(':', 2);
    if (raw.startsWith("V:") && payload > 0) {
      try {
        return Long.parseLong(raw.substring(payload + 1));
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw new IllegalArgumentException("not a Veracache record holding a version (V:<version>:<version>, N:, T:, "
        + "P:, D:): '" + raw + "'");
  }

  /** For tests: whether this instance's client is degraded (invalidations may be missed; L1 serves young entries). */
  boolean degraded() {
    return veracache.degraded();
  }

  /** Adds the fences' refusals of this instance ({@link RunContext#FENCE_REFUSALS}). */
  @Override
  public void addMeasures(FaultMeasures measures) {
    double refusals = 0;
    for (Meter meter : meters.getMeters()) {
      String name = meter.getId().getName();
      String result = meter.getId().getTag("result");
      boolean refusal = result != null && switch (name) {
        case "veracache.fills" -> result.startsWith("refused_");
        case "veracache.puts" -> result.equals("refused_version") || result.equals("no_floor");
        case "veracache.l1.fills" -> result.equals("refused_invalidated");
        default -> false;
      };
      if (refusal && meter instanceof Counter counter) {
        refusals += counter.count();
      }
    }
    measures.add(RunContext.FENCE_REFUSALS, Math.round(refusals));
  }

  /** The sum of this instance's counters named {@code name} (every tag): for the broken variants of the tests. */
  double counted(String name) {
    double sum = 0;
    for (Meter meter : meters.find(name).meters()) {
      if (meter instanceof Counter counter) {
        sum += counter.count();
      }
    }
    return sum;
  }

  @Override
  public void close() {
    veracache.close();
  }

  /** Commits the row on the writer's connection; the value to cache is the committed version. */
  private static final class RowWriter implements CacheWriter<String, String> {
    @Override
    public String write(String key, String ignored) throws Exception {
      PendingWrite pending = PENDING.get();
      Workload.Commit commit = pending.writer().commit(pending.row(), pending.intent());
      pending.committed()[0] = commit;
      return Long.toString(commit.version());
    }

    @Override
    public void delete(String key) throws Exception {
      PendingWrite pending = PENDING.get();
      pending.committed()[0] = pending.writer().commit(pending.row(), Workload.Intent.DELETE);
    }
  }
}
