package dev.veracache;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.FenceProtocol.FillOutcome;
import dev.veracache.internal.FenceProtocol.Lease;
import dev.veracache.internal.FenceProtocol.LeaseReply;
import dev.veracache.internal.L2Failure;
import dev.veracache.internal.RedisRecord;
import dev.veracache.testing.CacheHooks;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a read does when Redis has no answer: it takes the fill lease, loads, and fills Redis through the fence and
 * then L1 through the read's ticket; or it serves what another filled meanwhile; or it waits, bounded, for the fill of
 * another caller that holds the lease ({@link LeaseWait}, R9). Also the loader calls of reads that bypass Redis.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>A lease taken is always given back or used</b>: a load that throws, a hook that throws, a "not found"
 *       that is not cached or a value that cannot be stored releases it at once, so nobody waits for a fill that will
 *       not come (a failed release is logged; the lease then expires by itself).</li>
 *   <li><b>A fill that Redis cannot take serves the loaded value uncached</b> (counted in {@code fills{failed}}).</li>
 *   <li><b>L1 keeps an answer only if no invalidation overtook its read</b> ({@link L1Store#complete}, R7); a refusal
 *       is counted unless the read stored the value itself (its own write's push refused it, which is harmless).</li>
 * </ul>
 */
final class Misses<K, V> {

  private static final Logger log = LoggerFactory.getLogger(Misses.class);

  private final CacheOptions<K, V> options;
  private final FenceProtocol fence;
  private final RedisEntries<V> entries;
  private final KeyWaiters keyWaiters;
  private final L1Store l1; // null when L1 is off
  private final L1Readmission<V> readmission; // null when L1 is off
  private final CacheMetrics metrics;
  private final CacheHooks hooks;

  Misses(CacheOptions<K, V> options, FenceProtocol fence, RedisEntries<V> entries, KeyWaiters keyWaiters, L1Store l1,
      L1Readmission<V> readmission, CacheMetrics metrics) {
    this.options = options;
    this.fence = fence;
    this.entries = entries;
    this.keyWaiters = keyWaiters;
    this.l1 = l1;
    this.readmission = readmission;
    this.metrics = metrics;
    this.hooks = options.hooks;
  }

  /** A miss: take the lease and fill, or serve what another filled meanwhile, or wait (bounded) for another's fill. */
  V underLease(K key, String redisKey, CacheLoader<? super K, ? extends V> loader, L1Store.ReadTicket ticket) {
    return afterLeaseAttempt(key, redisKey, loader, ticket, leaseOrAnswer(redisKey));
  }

  /** What a miss does with the outcome of {@link #leaseOrAnswer}: serve it, load and fill, or load without filling. */
  V afterLeaseAttempt(K key, String redisKey, CacheLoader<? super K, ? extends V> loader, L1Store.ReadTicket ticket,
      LeaseOutcome<V> outcome) {
    if (outcome instanceof Answered<V> answered) {
      remember(ticket, answered.value());
      return answered.value();
    } else if (outcome instanceof Leased<V> leased) {
      return loadAndFill(key, leased.lease(), loader, ticket);
    } else if (outcome instanceof WaitedOut<V>) {
      return load(key, redisKey, loader); // without filling: the lease holder will
    }
    return degradedLoad(key, redisKey, loader, ticket, ((Bypassed<V>) outcome).why());
  }

  /** What a miss's attempt to take the fill lease came to. */
  sealed interface LeaseOutcome<V> {}

  /**
   * Redis holds an answer: {@code value} (null for a cached "not found"), there when the lease was asked for, or filled
   * by another caller this one waited for ({@code afterWait}).
   */
  record Answered<V>(V value, boolean afterWait) implements LeaseOutcome<V> {}

  /** The lease is this caller's: it loads, then {@link #fill fills} or {@link #release releases}. */
  record Leased<V>(Lease lease) implements LeaseOutcome<V> {}

  /** Another caller held the lease for all of {@code leaseWaitTimeout}: load without filling. */
  record WaitedOut<V>() implements LeaseOutcome<V> {}

  /** Redis did not answer, or the record stays unreadable: load from the loader, bypassing Redis. */
  record Bypassed<V>(String why) implements LeaseOutcome<V> {}

  /** Takes the lease, or serves what another filled meanwhile, or waits (bounded) for another's fill (R9). */
  LeaseOutcome<V> leaseOrAnswer(String redisKey) {
    LeaseWait wait = new LeaseWait(keyWaiters, options.namespace, options.leaseWaitTimeout.toNanos());
    boolean sawUnreadable = false;
    while (true) {
      LeaseReply reply;
      try {
        reply = fence.acquire(redisKey, options.leaseTtl.toMillis());
      } catch (L2Failure e) {
        return new Bypassed<>(e.getMessage());
      }
      Lookup<V> found;
      if (reply instanceof FenceProtocol.Granted granted) {
        if (granted.foreignTypeDeleted()) {
          entries.reportDeletedForeignType(redisKey);
        }
        return new Leased<>(granted.lease());
      } else if (reply instanceof FenceProtocol.Present present) {
        found = entries.decode(redisKey, present.record());
        if (!(found instanceof Lookup.Hit) && sawUnreadable) {
          return new Bypassed<>("the Redis entry stays unreadable");
        }
        sawUnreadable = true; // if not a hit, the unreadable record was just invalidated: try the lease again
      } else { // Busy: another caller, maybe in another JVM, holds the lease and is loading
        if (wait.begin()) {
          hooks.beforeLeaseWait(redisKey);
        }
        if (wait.expired()) {
          wait.finish(metrics, false);
          return new WaitedOut<>();
        }
        try {
          found = wait.awaitFill(redisKey, () -> entries.read(redisKey));
        } catch (L2Failure e) {
          return new Bypassed<>(e.getMessage());
        }
      } // a miss here: the lease was released, cancelled or is still held: try to take it again
      if (found instanceof Lookup.Hit<V> hit) {
        wait.finish(metrics, true);
        return new Answered<>(hit.value(), !(reply instanceof FenceProtocol.Present));
      }
    }
  }

  /** Loads under {@code lease} and fills; returns the loaded value whatever became of the fill. */
  private V loadAndFill(K key, Lease lease, CacheLoader<? super K, ? extends V> loader, L1Store.ReadTicket ticket) {
    V value;
    try {
      value = load(key, lease.key(), loader);
    } catch (RuntimeException | Error e) {
      release(lease); // a failed load leaves no lease behind for others to wait on
      throw e;
    }
    if (fillAndReadmit(lease, value, ticket)) {
      rememberOwnWrite(ticket, value);
    }
    return value;
  }

  /**
   * {@link #fill}, and when L1 is on and Redis stored it, the value re-read into L1 once the fill's own push has
   * dropped it ({@link L1Readmission}).
   */
  private boolean fillAndReadmit(Lease lease, V value, L1Store.ReadTicket ticket) {
    boolean stored = fill(lease, value);
    if (stored && ticket != null) {
      readmission.afterOwnWrite(ticket.key, lease.key());
    }
    return stored;
  }

  /**
   * Fills Redis with a value loaded under {@code lease} ({@code null}: "not found"), through the fence; releases the
   * lease instead when there is nothing to store. A fill Redis cannot take is counted and logged, never thrown.
   *
   * @return true if Redis stored it
   */
  boolean fill(Lease lease, V value) {
    String redisKey = lease.key();
    long version = RedisRecord.NO_VERSION;
    byte[] record = null;
    try {
      hooks.afterLoad(redisKey);
      if (value != null) {
        version = entries.versionOrFailed(redisKey, value);
        record = version == RedisEntries.VERSION_FAILED ? null : entries.encodeOrNull(redisKey, value, version);
      }
    } catch (RuntimeException | Error e) {
      release(lease); // a failed hook or version extractor leaves no lease behind
      throw e;
    }
    if (value == null ? !options.cacheNegatives : record == null) {
      release(lease);
      return false;
    }
    FillOutcome outcome;
    try {
      outcome = value == null ? fence.fillNotFound(lease, options.negativeTtl.toMillis())
          : fence.fill(lease, version, record, valueTtlMillis());
    } catch (L2Failure e) {
      metrics.fillFailed.increment();
      log.warn("cache '{}': fill of '{}' not stored, serving the loaded value uncached: {}", options.namespace,
          redisKey, e.getMessage());
      return false;
    }
    hooks.fenceDecided(redisKey, outcome == FillOutcome.STORED);
    switch (outcome) {
      case STORED -> metrics.fillStored.increment();
      case REFUSED_BY_LEASE -> {
        metrics.fillRefusedLease.increment();
        log.debug("cache '{}': fill of '{}' refused, its lease was cancelled by an invalidation", options.namespace,
            redisKey);
      }
      case REFUSED_BY_VERSION -> {
        metrics.fillRefusedVersion.increment();
        log.debug("cache '{}': fill of '{}' version {} refused, older than the tombstone", options.namespace,
            redisKey, version);
      }
      case REFUSED_PRESENT -> metrics.fillRefusedPresent.increment();
    }
    return outcome == FillOutcome.STORED;
  }

  V load(K key, String redisKey, CacheLoader<? super K, ? extends V> loader) {
    long start = System.nanoTime();
    try {
      V value = loader.load(key);
      metrics.loadSuccess.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      return value;
    } catch (Exception e) {
      metrics.loadFailure.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new CacheLoaderException("cache '" + options.namespace + "': loader failed for key '" + redisKey + "': "
          + e, e);
    }
  }

  /** A read that bypasses Redis: the loader's answer, kept in L1 if the ticket allows. */
  V degradedLoad(K key, String redisKey, CacheLoader<? super K, ? extends V> loader, L1Store.ReadTicket ticket,
      String why) {
    metrics.degradedReads.increment();
    log.debug("cache '{}': reading '{}' from the loader, Redis is bypassed: {}", options.namespace, redisKey, why);
    V value = load(key, redisKey, loader);
    if (value == null && !options.cacheNegatives) {
      if (ticket != null) {
        l1.drop(ticket); // as a fill would not cache it: "not found" is not kept without negative caching
      }
    } else {
      remember(ticket, value);
    }
    return value;
  }

  void release(Lease lease) {
    try {
      fence.release(lease);
    } catch (L2Failure e) {
      log.debug("cache '{}': lease on '{}' not released ({}); it expires by itself", options.namespace, lease.key(),
          e.getMessage());
    }
  }

  /**
   * Puts a read's answer in L1 unless an invalidation overtook it; a refusal is counted (R7).
   *
   * @return whether it was kept (true without an L1)
   */
  boolean remember(L1Store.ReadTicket ticket, V value) {
    if (ticket != null && !l1.complete(ticket, value)) {
      metrics.l1FillRefused.increment();
      return false;
    }
    return true;
  }

  /**
   * The same after this client's own fill or set: Redis 6.2 and 7.0 push a client's own script writes back to it
   * despite NOLOOP, so the answer is usually refused by its own write's push. That is not an overtaking invalidation,
   * so it is not counted.
   */
  void rememberOwnWrite(L1Store.ReadTicket ticket, V value) {
    if (ticket != null) {
      l1.complete(ticket, value);
    }
  }

  /** A value's Redis TTL: {@code ttl}, spread by {@code ttlJitter} so that entries filled together expire apart. */
  long valueTtlMillis() {
    long ttl = options.ttl.toMillis();
    if (options.ttlJitter == 0) {
      return ttl;
    }
    double factor = 1 + options.ttlJitter * (2 * ThreadLocalRandom.current().nextDouble() - 1);
    return Math.max(1, (long) (ttl * factor));
  }
}
