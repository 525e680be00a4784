package dev.veracache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.LongAdder;

/**
 * The meters of one cache, all tagged {@code client=<clientName>} and {@code cache=<namespace>}. Names and tags are listed in the module README; keep
 * both in step. L1 hits are counted in a {@link HitCounter} read by a function counter: nothing on the L1 hit path
 * allocates, touches Micrometer or runs an atomic instruction.
 */
final class CacheMetrics {

  final HitCounter l1Hits = new HitCounter();
  final LongAdder l1Misses = new LongAdder();
  final Counter l2Hits;
  final Counter l2Misses;
  final Timer loadSuccess;
  final Timer loadFailure;
  final Counter fillStored;
  final Counter fillRefusedLease;
  final Counter fillRefusedVersion;
  final Counter fillRefusedPresent;
  final Counter fillSkippedTooLarge;
  final Counter fillFailed;
  final Counter putStored;
  final Counter putRefusedVersion;
  final Counter putNoFloor;
  /** L1 answers not kept because an invalidation (or an L1 clear) came while the read was in flight (R7). */
  final Counter l1FillRefused;
  /** Own fills and sets re-read into L1 after their own push dropped them ({@link L1Readmission}). */
  final Counter l1ReadmissionsStored;
  final Counter l1ReadmissionsNotStored;
  final Counter l1ReadmissionsSkipped;
  final Counter l1ReadmissionsDropped;
  final Timer leaseWaitValue;
  final Timer leaseWaitTimeout;
  final Counter invalidationsApplied;
  final Counter invalidationsQueued;
  final Counter degradedReads;
  final Counter codecErrors;

  CacheMetrics(MeterRegistry registry, String client, String cache) {
    FunctionCounter.builder("veracache.gets", l1Hits, HitCounter::sum).tags("client", client, "cache", cache, "level", "l1",
        "result", "hit").description("Reads answered, or not, by a level").register(registry);
    FunctionCounter.builder("veracache.gets", l1Misses, LongAdder::sum).tags("client", client, "cache", cache, "level", "l1",
        "result", "miss").register(registry);
    l2Hits = counter(registry, "veracache.gets", client, cache, "level", "l2", "result", "hit");
    l2Misses = counter(registry, "veracache.gets", client, cache, "level", "l2", "result", "miss");
    loadSuccess = Timer.builder("veracache.loads").tags("client", client, "cache", cache, "result", "success")
        .description("Loader calls and their duration").register(registry);
    loadFailure = Timer.builder("veracache.loads").tags("client", client, "cache", cache, "result", "failure")
        .register(registry);
    fillStored = counter(registry, "veracache.fills", client, cache, "result", "stored");
    fillRefusedLease = counter(registry, "veracache.fills", client, cache, "result", "refused_lease");
    fillRefusedVersion = counter(registry, "veracache.fills", client, cache, "result", "refused_version");
    fillRefusedPresent = counter(registry, "veracache.fills", client, cache, "result", "refused_present");
    fillSkippedTooLarge = counter(registry, "veracache.fills", client, cache, "result", "too_large");
    fillFailed = counter(registry, "veracache.fills", client, cache, "result", "failed");
    putStored = counter(registry, "veracache.puts", client, cache, "result", "stored");
    putRefusedVersion = counter(registry, "veracache.puts", client, cache, "result", "refused_version");
    putNoFloor = counter(registry, "veracache.puts", client, cache, "result", "no_floor");
    l1FillRefused = counter(registry, "veracache.l1.fills", client, cache, "result", "refused_invalidated");
    l1ReadmissionsStored = counter(registry, "veracache.l1.readmissions", client, cache, "result", "stored");
    l1ReadmissionsNotStored = counter(registry, "veracache.l1.readmissions", client, cache, "result", "not_stored");
    l1ReadmissionsSkipped = counter(registry, "veracache.l1.readmissions", client, cache, "result", "skipped");
    l1ReadmissionsDropped = counter(registry, "veracache.l1.readmissions", client, cache, "result", "dropped");
    leaseWaitValue = Timer.builder("veracache.lease.waits").tags("client", client, "cache", cache, "outcome", "value")
        .description("Misses that waited for another instance's lease").register(registry);
    leaseWaitTimeout = Timer.builder("veracache.lease.waits")
        .tags("client", client, "cache", cache, "outcome", "timeout").register(registry);
    invalidationsApplied = counter(registry, "veracache.invalidations", client, cache, "result", "applied");
    invalidationsQueued = counter(registry, "veracache.invalidations", client, cache, "result", "queued");
    degradedReads = counter(registry, "veracache.degraded.reads", client, cache);
    codecErrors = counter(registry, "veracache.codec.errors", client, cache);
  }

  private static Counter counter(MeterRegistry registry, String name, String client, String cache, String... tags) {
    return Counter.builder(name).tag("client", client).tag("cache", cache).tags(tags).register(registry);
  }
}
