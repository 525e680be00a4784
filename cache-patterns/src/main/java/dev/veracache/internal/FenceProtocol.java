package dev.veracache.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fence protocol: the one class that knows the Lua scripts' arguments and replies ({@code *.lua} next to this
 * class; the record layout and its rules are in {@code record.lua} and {@link RedisRecord}). Callers speak in leases,
 * records and typed outcomes; they never see a script, an ARGV position or a reply code.
 *
 * <p>Internal: not part of the API; may change in any release.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>No script reply code leaves this class.</b> Each reply is decoded here, once, into a result type; a reply
 *       of another shape (a script edited without this class) fails loudly with an {@link IllegalStateException}
 *       naming the script and the reply, never as a silent "refused".</li>
 *   <li><b>A lease token is never {@code 0}</b> ({@code 0} means "no lease" in a record) and is drawn at random per
 *       acquire, so a fill can only pass with the lease its own acquire took (R1, R10).</li>
 *   <li><b>Versions travel as canonical decimals</b> (no sign but a lone {@code -1}, no leading zero), which the
 *       scripts compare exactly as strings; floors of deletes are unsigned ({@link Invalidation}).</li>
 *   <li>Every call goes through the {@link RedisLink} (breaker, classification); a Redis failure leaves as an
 *       {@link L2Failure}, never as an outcome.</li>
 * </ul>
 */
public final class FenceProtocol {

  /** Where the CDC listeners publish their progress, one hash per namespace: {@code veracache:progress:<ns>}. */
  public static final String PROGRESS_PREFIX = "veracache:progress:";
  /** Where a refresh-ahead claim on a key is held: {@code veracache:refresh:<namespace>:<key>}, outside the namespace. */
  public static final String REFRESH_PREFIX = "veracache:refresh:";
  private static final byte[] CLAIMED = {'1'};
  /** Where one running CDC listener instance keeps the sequence number it wrote last. */
  static final String SEQUENCE_PREFIX = "veracache:cdc:";
  /**
   * Keys per invalidation script call: a call holds Redis for its keys, so this bounds the pause other clients see:
   * about 12 us a key for small values, more for large ones (the script reads each record whole: about 2 ms a key at
   * 1 MiB), as long as the same keys in separate pipelined calls held it. On a cluster the keys of one call share a
   * slot ({@link #invalidatePipelined} groups them).
   */
  static final int INVALIDATIONS_PER_CALL = 64;

  /** A fill lease this client took on one key; its token is what {@code fill.lua} and {@code release.lua} check. */
  public record Lease(String key, long token) {}

  /** What an attempt to take the fill lease found ({@code acquire.lua}). */
  public sealed interface LeaseReply permits Granted, Busy, Present {}

  /**
   * The lease is ours: load, then {@link #fill} or {@link #release}. {@code foreignTypeDeleted}: the key held a key of
   * another type (a hash, a list...), which the script deleted; the caller reports it.
   */
  public record Granted(Lease lease, boolean foreignTypeDeleted) implements LeaseReply {
    public Granted(Lease lease) {
      this(lease, false);
    }
  }

  /** Another caller (maybe in another JVM) holds a live lease on the key for about {@code remainingMillis} more. */
  public record Busy(long remainingMillis) implements LeaseReply {}

  /** A value, a cached "not found", or bytes that are not a record are in place: the caller serves or reports them. */
  public record Present(byte[] record) implements LeaseReply {}

  /** What became of a fill ({@code fill.lua}). */
  public enum FillOutcome {
    STORED,
    /** The lease was cancelled by an invalidation, or expired and was taken by another filler (R1, R10, R14). */
    REFUSED_BY_LEASE,
    /** Older than the floor an invalidation left, or a "not found" while the row is known to exist (R12). */
    REFUSED_BY_VERSION,
    /** Another value is already cached. */
    REFUSED_PRESENT
  }

  /** What became of a versioned set ({@code put.lua}). */
  public enum PutOutcome {
    STORED,
    /** The same version is already cached (counted as stored: the cache holds this value). */
    ALREADY_CACHED,
    /** A newer version or floor is in place (R4). */
    REFUSED_BY_VERSION,
    /** Nothing proves the set is the newest: a tombstone at its version is left instead (R13, R14). */
    NO_FLOOR
  }

  /** What {@link #publish} found. */
  public enum PublishOutcome {
    PUBLISHED,
    /** Redis does not hold the sequence number the listener wrote last: it lost data; nothing was published. */
    SEQUENCE_LOST
  }

  /**
   * Where the CDC listeners of some namespaces stand: Redis's clock now, and per namespace (in the order asked) the
   * Redis time up to which its slowest listener applied every commit, or {@code -1} when none published.
   */
  public record Progress(long redisNowMillis, List<Long> safeThroughMillis) {}

  /** One invalidation of a pipelined batch. */
  public record KeyedInvalidation(String key, Invalidation invalidation, long tombstoneTtlMillis) {}

  private final RedisLink link;

  public FenceProtocol(RedisLink link) {
    this.link = Objects.requireNonNull(link, "link");
  }

  /** Tries to take the fill lease of {@code key} for {@code leaseTtlMillis}. */
  public LeaseReply acquire(String key, long leaseTtlMillis) {
    long token = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    return decodeAcquire(key, token, link.run(FenceScript.ACQUIRE, key, ascii(token), ascii(leaseTtlMillis)));
  }

  /** Stores a value record ({@link RedisRecord#value}) of {@code version} if the lease and the floor allow it. */
  public FillOutcome fill(Lease lease, long version, byte[] record, long ttlMillis) {
    return decodeFill(link.run(FenceScript.FILL, lease.key(), ascii(lease.token()), ascii(version), record,
        ascii(ttlMillis)));
  }

  /** Stores a "not found" if the lease allows it and the row is not known to exist. */
  public FillOutcome fillNotFound(Lease lease, long ttlMillis) {
    return decodeFill(link.run(FenceScript.FILL, lease.key(), ascii(lease.token()), ascii(RedisRecord.NO_VERSION),
        NOT_FOUND_FILL, ascii(ttlMillis)));
  }

  /** Gives the lease up without storing anything; false when it was not ours any more. */
  public boolean release(Lease lease) {
    return decodeApplied(FenceScript.RELEASE, link.run(FenceScript.RELEASE, lease.key(), ascii(lease.token())));
  }

  /** A versioned set (write-through): {@code record} is a value record of {@code version}. */
  public PutOutcome put(String key, long version, byte[] record, long ttlMillis, long tombstoneTtlMillis) {
    return decodePut(link.run(FenceScript.PUT, key, ascii(version), record, ascii(ttlMillis),
        ascii(tombstoneTtlMillis)));
  }

  /**
   * Refresh-ahead: gives the value record {@code expected} a lifetime of {@code ttlMillis} (never a shorter one) if the
   * key still holds exactly those bytes; false when the record changed or vanished since it was read (an invalidation
   * or a newer write won), and then nothing was done.
   */
  public boolean extendIfUnchanged(String key, byte[] expected, long ttlMillis) {
    return decodeApplied(FenceScript.EXTEND, link.run(FenceScript.EXTEND, key, expected, ascii(ttlMillis)));
  }

  /**
   * Refresh-ahead: the right to refresh {@code key} for {@code ttlMillis}, one holder across every client
   * ({@code SET NX PX} on a key outside every namespace, so no tracking push); false when another holds it.
   */
  public boolean claimRefresh(String key, long ttlMillis) {
    return link.setIfAbsent(REFRESH_PREFIX + key, CLAIMED, ttlMillis);
  }

  /**
   * Write-behind: reserves the next version of {@code key} (Redis's clock in microseconds, or one above the key's
   * floor or its last reserved version, kept under {@code lastReservedKey}) for {@code fenceTtlMillis}; a key without a
   * value is fenced at it (any lease cancelled, fills below it refused), a cached value or "not found" stays.
   */
  public long reserve(String key, String lastReservedKey, long fenceTtlMillis) {
    return decodeReserve(link.runOnKeys(FenceScript.RESERVE, new String[] {key, lastReservedKey},
        ascii(fenceTtlMillis)));
  }

  /** One key's fence after a write-behind flush ({@code flushed.lua}). */
  public record FlushFence(String key, Invalidation change, long tombstoneTtlMillis, long valueTtlMillis,
      long notFoundTtlMillis) {}

  /**
   * Write-behind: fences a flushed batch's keys, pipelined in list order, waiting for every reply; not guarded by the
   * breaker (the caller queues what Redis did not take).
   */
  public void flushedPipelined(List<FlushFence> batch) {
    List<String[]> keys = new ArrayList<>(batch.size());
    List<byte[][]> args = new ArrayList<>(batch.size());
    for (FlushFence f : batch) {
      keys.add(new String[] {f.key()});
      args.add(f.change().flushedScriptArgs(f.tombstoneTtlMillis(), f.valueTtlMillis(), f.notFoundTtlMillis()));
    }
    link.runPipelined(FenceScript.FLUSHED, keys, args);
  }

  /** What {@link #stockDecrement} did. */
  public record StockTake(boolean taken, boolean open, long left, long deadlineMillis) {}

  /** One reservation past its deadline: its id and how many units it holds. */
  public record StockOrphan(String id, long amount) {}

  /** Flash-sale stock: opens the sale of {@code item} with {@code quantity} units (drops older reservations). */
  public void stockOpen(String counterKey, String pendingKey, String itemsKey, String item, long quantity) {
    decodeApplied(FenceScript.STOCK_OPEN, link.runOnKeys(FenceScript.STOCK_OPEN,
        new String[] {counterKey, pendingKey, itemsKey}, ascii(quantity), item.getBytes(StandardCharsets.UTF_8)));
  }

  /** Takes {@code amount} units if that many are left, recording reservation {@code id} until it is settled. */
  public StockTake stockDecrement(String counterKey, String pendingKey, long amount, String id, long orphanAfterMs) {
    Object reply = link.runOnKeys(FenceScript.STOCK_DECREMENT, new String[] {counterKey, pendingKey}, ascii(amount),
        id.getBytes(StandardCharsets.UTF_8), ascii(orphanAfterMs));
    List<?> list = list(FenceScript.STOCK_DECREMENT, reply);
    long code = code(FenceScript.STOCK_DECREMENT, list);
    if (code == -1 && list.size() == 1) {
      return new StockTake(false, false, 0, 0);
    }
    if (code == 0 && list.size() == 2 && list.get(1) instanceof Long left) {
      return new StockTake(false, true, left, 0);
    }
    if (code == 1 && list.size() == 3 && list.get(1) instanceof Long left && list.get(2) instanceof Long deadline) {
      return new StockTake(true, true, left, deadline);
    }
    throw unexpected(FenceScript.STOCK_DECREMENT, reply);
  }

  /** Settles reservation {@code id}, giving its units back if {@code restore}; false if it was settled already. */
  public boolean stockSettle(String counterKey, String pendingKey, String id, boolean restore) {
    return decodeApplied(FenceScript.STOCK_SETTLE, link.runOnKeys(FenceScript.STOCK_SETTLE,
        new String[] {counterKey, pendingKey}, id.getBytes(StandardCharsets.UTF_8), ascii(restore ? 1 : 0)));
  }

  /** True while Redis's clock is before a reservation's deadline: its buyer may be told of the sale. */
  public boolean stockConfirm(long deadlineMillis) {
    return decodeApplied(FenceScript.STOCK_CONFIRM, link.runOnKeys(FenceScript.STOCK_CONFIRM, new String[0],
        ascii(deadlineMillis)));
  }

  /** The reaper's RELEASE of reservation {@code id} is in the log: no reaper writes another. */
  public void stockReaped(String pendingKey, String id) {
    decodeApplied(FenceScript.STOCK_REAPED, link.runOnKeys(FenceScript.STOCK_REAPED, new String[] {pendingKey},
        id.getBytes(StandardCharsets.UTF_8)));
  }

  /** Reservations of one item unsettled past their deadline, each pushed {@code againAfterMs} forward. */
  public List<StockOrphan> stockOrphans(String pendingKey, long againAfterMs) {
    Object reply = link.runOnKeys(FenceScript.STOCK_ORPHANS, new String[] {pendingKey}, ascii(againAfterMs));
    if (!(reply instanceof List<?> list) || list.size() % 2 != 0) {
      throw unexpected(FenceScript.STOCK_ORPHANS, reply);
    }
    List<StockOrphan> orphans = new ArrayList<>();
    for (int i = 0; i < list.size(); i += 2) {
      if (!(list.get(i) instanceof byte[] id) || !(list.get(i + 1) instanceof byte[] amount)) {
        throw unexpected(FenceScript.STOCK_ORPHANS, reply);
      }
      orphans.add(new StockOrphan(new String(id, StandardCharsets.UTF_8),
          Long.parseLong(new String(amount, StandardCharsets.US_ASCII))));
    }
    return orphans;
  }

  /** The members of a set (the items of a stock namespace). */
  public List<String> members(String setKey) {
    return link.smembers(setKey);
  }

  /** Units left of an item, or -1 when its sale is not open. */
  public long stockLeft(String counterKey) {
    byte[] raw = link.get(counterKey);
    return raw == null ? -1 : Long.parseLong(new String(raw, StandardCharsets.US_ASCII));
  }

  /** Applies one invalidation; false when there was nothing to do (a value at least as new is cached). */
  public boolean invalidate(String key, Invalidation invalidation, long tombstoneTtlMillis) {
    return decodeApplied(FenceScript.INVALIDATE, link.run(FenceScript.INVALIDATE, key,
        invalidation.scriptArgs(tombstoneTtlMillis)));
  }

  /**
   * Applies a batch in list order (so per-key order is kept), waiting for every reply; not guarded by the breaker (the
   * CDC listener retries with backoff). Up to {@link #INVALIDATIONS_PER_CALL} keys go in one script call, the calls
   * pipelined on the one connection: one call per key cost about 60 us of Redis's and the client's time per key. A
   * call whose script fails part-way leaves the keys before the failure applied; one Redis refuses before it runs (an
   * ACL that denies one of its keys, NOPERM) applies none of its keys, where one call per key applied all but the
   * denied one. Either way the caller retries the whole batch (idempotent) and acknowledges nothing meanwhile.
   *
   * <p>On a cluster the batch is split by hash slot first, each slot's invalidations kept in list order (a key lives in
   * one slot, so its invalidations keep their order), and each call goes to its slot's master.
   */
  public void invalidatePipelined(List<KeyedInvalidation> batch) {
    List<String[]> keys = new ArrayList<>();
    List<byte[][]> args = new ArrayList<>();
    for (List<KeyedInvalidation> group : link.isCluster() ? bySlot(batch) : List.of(batch)) {
      addCalls(group, keys, args);
    }
    link.runPipelined(FenceScript.INVALIDATE, keys, args);
  }

  /** The batch's invalidations grouped by hash slot, in the order each slot first appears, list order within one. */
  static java.util.Collection<List<KeyedInvalidation>> bySlot(List<KeyedInvalidation> batch) {
    java.util.Map<Integer, List<KeyedInvalidation>> groups = new java.util.LinkedHashMap<>();
    for (KeyedInvalidation invalidation : batch) {
      groups.computeIfAbsent(io.lettuce.core.cluster.SlotHash.getSlot(invalidation.key()), slot -> new ArrayList<>())
          .add(invalidation);
    }
    return groups.values();
  }

  /** The script calls of one group of invalidations, {@link #INVALIDATIONS_PER_CALL} keys at most each. */
  private static void addCalls(List<KeyedInvalidation> batch, List<String[]> keys, List<byte[][]> args) {
    for (int from = 0; from < batch.size(); from += INVALIDATIONS_PER_CALL) {
      List<KeyedInvalidation> call = batch.subList(from, Math.min(batch.size(), from + INVALIDATIONS_PER_CALL));
      String[] callKeys = new String[call.size()];
      byte[][] callArgs = new byte[call.size() * Invalidation.SCRIPT_ARGS][];
      for (int i = 0; i < call.size(); i++) {
        KeyedInvalidation invalidation = call.get(i);
        callKeys[i] = invalidation.key();
        System.arraycopy(invalidation.invalidation().scriptArgs(invalidation.tombstoneTtlMillis()), 0, callArgs,
            i * Invalidation.SCRIPT_ARGS, Invalidation.SCRIPT_ARGS);
      }
      keys.add(callKeys);
      args.add(callArgs);
    }
  }

  /**
   * Reads how far the CDC listeners of {@code namespaces} have applied, in one atomic call. On a cluster the progress
   * hashes live in different slots: read them one at a time ({@link #progressPerNamespace}).
   */
  public Progress progress(List<String> namespaces) {
    String[] keys = namespaces.stream().map(ns -> PROGRESS_PREFIX + ns).toArray(String[]::new);
    return decodeProgress(namespaces.size(), link.runOnKeys(FenceScript.PROGRESS, keys));
  }

  /**
   * Whether {@link #progress} takes one namespace at a time: on a cluster, where each progress hash is in its own
   * slot, and each answer comes with the clock of the master holding it.
   */
  public boolean progressPerNamespace() {
    return link.isCluster();
  }

  /**
   * Checks that Redis still holds {@code lastSequence} (0: just started, nothing to check) for this listener instance,
   * writes {@code sequence}, and, when {@code lagMillis >= 0}, publishes "applied up to {@code lagMillis} ago" in each
   * namespace's progress hash; with {@code lagMillis < 0} only the sequence is checked and advanced.
   */
  public PublishOutcome publish(String listener, String instance, List<String> namespaces, long lastSequence,
      long sequence, long lagMillis) {
    if (link.isCluster()) {
      // Each hash's stamp is its master's clock read before the check: a loss the check missed (on a master already
      // checked) happens after it, so a client that saw it and marked the moment it came back never takes this
      // progress for "applied past the loss".
      long[] safeThrough = new long[namespaces.size()];
      if (lagMillis >= 0) {
        for (int i = 0; i < safeThrough.length; i++) {
          safeThrough[i] = progress(List.of(namespaces.get(i))).redisNowMillis() - lagMillis;
        }
      }
      PublishOutcome checked = checkSequenceOnEveryMaster(listener, instance, lastSequence, sequence);
      if (checked == PublishOutcome.PUBLISHED && lagMillis >= 0) {
        publishProgressPerNamespace(listener, namespaces, safeThrough);
      }
      return checked;
    }
    String[] keys = new String[namespaces.size() + 1];
    keys[0] = SEQUENCE_PREFIX + listener + ":seq:" + instance;
    for (int i = 0; i < namespaces.size(); i++) {
      keys[i + 1] = PROGRESS_PREFIX + namespaces.get(i);
    }
    return decodePublish(link.runOnKeys(FenceScript.PUBLISH, keys,
        lastSequence == 0 ? EMPTY : ascii(lastSequence), ascii(sequence), listener.getBytes(StandardCharsets.UTF_8),
        lagMillis < 0 ? EMPTY : ascii(lagMillis)));
  }

  /**
   * On a cluster: checks and advances the sequence on every master that serves slots, each in a key of its own slots (a
   * master that lost writes, by a failover to a replica that lagged or a restart, has lost the sequence written after
   * them on that very master). Every tag written at the last publish is checked again wherever its slot is served now
   * (the key moves with its slot; a failover keeps the slot): while one of those slots has no master (a failover under
   * way), the publish fails and is retried, it never skips it. A live master's own tag not written last time is written
   * without a check.
   *
   * <p>A key that a resharding moved to another master proves nothing about the master it left: so every master serving
   * slots now must be covered by a tag written last time that lies in its slots and was then served by it or by a
   * master it was a replica of (a failover), or must have served no slot at the last publish (all it holds came since).
   * A master not covered so (its tag's slot moved away, or a master new to the topology) may have lost writes unseen:
   * that is reported as a loss, and the listener flushes. This is judged by the topology as Lettuce knows it (read every
   * 2 s, and at once after a redirect or a lost connection; a synchronous read would stall every batch on a node that
   * does not answer): a change it has not seen yet is judged at the next publish. Without a record of the last publish
   * in this process, nothing is judged so. Progress hashes are published afterwards, one call each
   * ({@link #publishProgressPerNamespace}).
   */
  private PublishOutcome checkSequenceOnEveryMaster(String listener, String instance, long lastSequence,
      long sequence) {
    String writer = listener + ":seq:" + instance;
    SequenceTags recorded = lastSequence == 0 ? null : sequenceTags.get(writer);
    SequenceTags last = recorded == null ? SequenceTags.NONE : recorded;
    List<RedisLink.Master> masters = link.masters();
    java.util.Set<String> tags = new java.util.TreeSet<>(last.lineageByTag.keySet());
    for (RedisLink.Node node : link.nodes()) {
      if (node.keyTag() != null) { // a master serving no slot takes no key of its own
        tags.add(node.keyTag());
      }
    }
    PublishOutcome outcome = PublishOutcome.PUBLISHED;
    for (String tag : tags) {
      byte[] expected = last.lineageByTag.containsKey(tag) ? ascii(lastSequence) : EMPTY;
      Object reply = link.runOnKeys(FenceScript.PUBLISH, new String[] {SEQUENCE_PREFIX + writer + tag}, expected,
          ascii(sequence), listener.getBytes(StandardCharsets.UTF_8), EMPTY);
      // A retry of a publish that failed part-way finds the new sequence on the masters it already reached: not a loss.
      if (decodePublish(reply) == PublishOutcome.SEQUENCE_LOST && !foundSequence(reply, sequence)) {
        outcome = PublishOutcome.SEQUENCE_LOST;
      }
    }
    if (recorded != null && !everyMasterCovered(masters, recorded)) {
      outcome = PublishOutcome.SEQUENCE_LOST;
    }
    java.util.Map<String, java.util.Set<String>> lineageByTag = new java.util.HashMap<>();
    java.util.Set<String> slotless = new java.util.HashSet<>();
    for (RedisLink.Master master : masters) {
      if (master.slots().isEmpty()) {
        slotless.add(master.nodeId());
      }
      for (String tag : tags) {
        if (master.serves(io.lettuce.core.cluster.SlotHash.getSlot(tag))) {
          lineageByTag.put(tag, master.lineage());
        }
      }
    }
    if (outcome == PublishOutcome.PUBLISHED) {
      // After a loss the record of the last good publish stays: the same round sent again (the listener repeats it
      // when a connection changed meanwhile) finds its tags already advanced, and must still see the master that
      // nothing vouches for. The listener starts a new sequence (lastSequence 0) once it has flushed.
      sequenceTags.put(writer, new SequenceTags(java.util.Map.copyOf(lineageByTag), java.util.Set.copyOf(slotless)));
    }
    return outcome;
  }

  /**
   * Whether each master serving slots now is covered by the last publish: a tag written then lies in its slots and was
   * served then by it or by a master it replicated, or it served no slot then.
   */
  private static boolean everyMasterCovered(List<RedisLink.Master> masters, SequenceTags last) {
    for (RedisLink.Master master : masters) {
      if (master.slots().isEmpty() || last.slotlessMasters.contains(master.nodeId())) {
        continue;
      }
      boolean covered = last.lineageByTag.entrySet().stream().anyMatch(tag -> master.serves(
          io.lettuce.core.cluster.SlotHash.getSlot(tag.getKey())) && tag.getValue().contains(master.nodeId()));
      if (!covered) {
        return false;
      }
    }
    return true;
  }

  /**
   * What one listener instance wrote at its last publish, on a cluster: each tag with the lineage (the master then
   * serving its slot, and that master's replicas) and the masters that then served no slot.
   */
  private record SequenceTags(java.util.Map<String, java.util.Set<String>> lineageByTag,
      java.util.Set<String> slotlessMasters) {
    static final SequenceTags NONE = new SequenceTags(java.util.Map.of(), java.util.Set.of());
  }

  /**
   * On a cluster, once every master's sequence was checked: each namespace's progress hash in a call of its own (each
   * lives in its own slot), with the stamp read from the clock of the master holding it before the check, which is the
   * clock its readers compare it with (a failover or migration of the hash's slot in between stamps it by the former
   * master's clock). Nothing is checked there: the per-master sequences just checked are what detects a loss; a
   * progress hash lost or restored older only makes readers more careful.
   */
  private void publishProgressPerNamespace(String listener, List<String> namespaces, long[] safeThroughMillis) {
    for (int i = 0; i < safeThroughMillis.length; i++) {
      link.runOnKeys(FenceScript.PUBLISH_PROGRESS, new String[] {PROGRESS_PREFIX + namespaces.get(i)},
          listener.getBytes(StandardCharsets.UTF_8), ascii(safeThroughMillis[i]));
    }
  }

  /** Per listener instance, on a cluster: what its last publish wrote, and where. */
  private final java.util.Map<String, SequenceTags> sequenceTags = new java.util.concurrent.ConcurrentHashMap<>();

  // ---- reply decoding: the only place that reads script reply codes (package-private for the unit tests) ----

  /** acquire.lua: {1} granted; {3} granted after deleting a key of another type; {0, remaining_ms} busy; {2, record} present. */
  static LeaseReply decodeAcquire(String key, long token, Object reply) {
    List<?> list = list(FenceScript.ACQUIRE, reply);
    long code = code(FenceScript.ACQUIRE, list);
    if (code == 1 || code == 3) {
      return new Granted(new Lease(key, token), code == 3);
    }
    if (code == 0 && list.size() == 2 && list.get(1) instanceof Long remaining) {
      return new Busy(remaining);
    }
    if (code == 2 && list.size() == 2 && list.get(1) instanceof byte[] record) {
      return new Present(record);
    }
    throw unexpected(FenceScript.ACQUIRE, reply);
  }

  /** fill.lua: 1 stored; 0 lease gone; -1 a value is present; -2 refused by the version fence. */
  static FillOutcome decodeFill(Object reply) {
    long code = code(FenceScript.FILL, list(FenceScript.FILL, reply));
    if (code == 1) {
      return FillOutcome.STORED;
    }
    if (code == 0) {
      return FillOutcome.REFUSED_BY_LEASE;
    }
    if (code == -1) {
      return FillOutcome.REFUSED_PRESENT;
    }
    if (code == -2) {
      return FillOutcome.REFUSED_BY_VERSION;
    }
    throw unexpected(FenceScript.FILL, reply);
  }

  /** put.lua: 1 stored; 2 the same version is cached; 0 refused, newer in place; 3 no floor proves it newest. */
  static PutOutcome decodePut(Object reply) {
    long code = code(FenceScript.PUT, list(FenceScript.PUT, reply));
    if (code == 1) {
      return PutOutcome.STORED;
    }
    if (code == 2) {
      return PutOutcome.ALREADY_CACHED;
    }
    if (code == 0) {
      return PutOutcome.REFUSED_BY_VERSION;
    }
    if (code == 3) {
      return PutOutcome.NO_FLOOR;
    }
    throw unexpected(FenceScript.PUT, reply);
  }

  /** reserve.lua: {version} as a canonical decimal. */
  static long decodeReserve(Object reply) {
    List<?> list = list(FenceScript.RESERVE, reply);
    if (list.size() == 1 && list.get(0) instanceof byte[] digits) {
      try {
        long version = Long.parseLong(new String(digits, StandardCharsets.US_ASCII));
        if (version >= 0) {
          return version;
        }
      } catch (NumberFormatException e) {
        // falls through to the error below
      }
    }
    throw unexpected(FenceScript.RESERVE, reply);
  }

  /** release.lua and invalidate.lua: 1 done, 0 nothing to do. */
  static boolean decodeApplied(FenceScript script, Object reply) {
    long code = code(script, list(script, reply));
    if (code == 1 || code == 0) {
      return code == 1;
    }
    throw unexpected(script, reply);
  }

  /** progress.lua: {redis_now_ms, safe_1, ..., safe_n}. */
  static Progress decodeProgress(int namespaces, Object reply) {
    List<?> list = list(FenceScript.PROGRESS, reply);
    if (list.size() != namespaces + 1) {
      throw unexpected(FenceScript.PROGRESS, reply);
    }
    List<Long> safe = new ArrayList<>(namespaces);
    for (Object o : list) {
      if (!(o instanceof Long n)) {
        throw unexpected(FenceScript.PROGRESS, reply);
      }
      safe.add(n);
    }
    return new Progress(safe.remove(0), List.copyOf(safe));
  }

  /** Whether a refused publish ({0, found}) found {@code sequence} itself. */
  private static boolean foundSequence(Object reply, long sequence) {
    List<?> list = list(FenceScript.PUBLISH, reply);
    return list.size() == 2 && list.get(1) instanceof byte[] found
        && java.util.Arrays.equals(found, ascii(sequence));
  }

  /** publish.lua: {1} published; {0, found} the sequence key does not hold what was written last. */
  static PublishOutcome decodePublish(Object reply) {
    long code = code(FenceScript.PUBLISH, list(FenceScript.PUBLISH, reply));
    if (code == 1) {
      return PublishOutcome.PUBLISHED;
    }
    if (code == 0) {
      return PublishOutcome.SEQUENCE_LOST;
    }
    throw unexpected(FenceScript.PUBLISH, reply);
  }

  private static List<?> list(FenceScript script, Object reply) {
    if (reply instanceof List<?> list && !list.isEmpty()) {
      return list;
    }
    throw unexpected(script, reply);
  }

  private static long code(FenceScript script, List<?> reply) {
    if (reply.get(0) instanceof Long code) {
      return code;
    }
    throw unexpected(script, reply);
  }

  private static IllegalStateException unexpected(FenceScript script, Object reply) {
    return new IllegalStateException("fence script " + script.name().toLowerCase(Locale.ROOT) + ".lua answered "
        + describe(reply) + ", a reply it does not have: the script and FenceProtocol must change together");
  }

  private static String describe(Object reply) {
    if (reply instanceof List<?> list) {
      return list.stream().map(FenceProtocol::describe).toList().toString();
    }
    if (reply instanceof byte[] bytes) {
      return "<" + bytes.length + " bytes>";
    }
    return String.valueOf(reply);
  }

  /** What fill.lua takes as the record of a "not found": the script writes it with the floor it finds. */
  private static final byte[] NOT_FOUND_FILL = new byte[0];
  private static final byte[] EMPTY = new byte[0];

  static byte[] ascii(long n) {
    return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
  }
}
