package dev.veracache;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code veracache.writebehind.*} meters, tagged {@code client} and {@code cache} like {@link CacheMetrics}; the
 * names are listed in the module README (keep both in step). The writer side ({@link WriteBehindCache}) counts what it
 * acknowledged or refused, the flusher side ({@link WriteBehindFlusher}) what it applied, coalesced, retried and
 * dead-lettered, its backlog and its flush lag.
 */
final class WriteBehindMetrics {

  final Counter ackedPuts;
  final Counter ackedDeletes;
  final Counter notLogged;
  final Counter noVersion;
  final Counter loggedNotCached;
  final Counter flushed;
  final Counter coalesced;
  final Counter retried;
  final Counter deadLettered;
  final Timer flushLag;
  final AtomicLong backlog = new AtomicLong();

  WriteBehindMetrics(MeterRegistry registry, String client, String cache) {
    ackedPuts = counter(registry, "veracache.writebehind.acked", client, cache, "op", "put");
    ackedDeletes = counter(registry, "veracache.writebehind.acked", client, cache, "op", "delete");
    notLogged = counter(registry, "veracache.writebehind.rejected", client, cache, "reason", "log");
    noVersion = counter(registry, "veracache.writebehind.rejected", client, cache, "reason", "redis");
    loggedNotCached = counter(registry, "veracache.writebehind.logged.not.cached", client, cache);
    flushed = counter(registry, "veracache.writebehind.flushed", client, cache);
    coalesced = counter(registry, "veracache.writebehind.coalesced", client, cache);
    retried = counter(registry, "veracache.writebehind.retried", client, cache);
    deadLettered = counter(registry, "veracache.writebehind.dead.lettered", client, cache);
    flushLag = Timer.builder("veracache.writebehind.flush.lag").tags("client", client, "cache", cache)
        .description("From a write's append to the log to its database commit").publishPercentileHistogram()
        .register(registry);
    Gauge.builder("veracache.writebehind.backlog", backlog, AtomicLong::get).tags("client", client, "cache", cache)
        .description("Records in the log this flusher has not applied yet (its assigned partitions)")
        .register(registry);
  }

  private static Counter counter(MeterRegistry registry, String name, String client, String cache, String... tags) {
    return Counter.builder(name).tag("client", client).tag("cache", cache).tags(tags).register(registry);
  }
}
