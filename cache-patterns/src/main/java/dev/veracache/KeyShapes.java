package dev.veracache;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every cache of one client, by namespace and key shape ({@code CacheOptions.keyPrefix}): where a changed Redis key's
 * L1 entry and single flight are found.
 *
 * <p>Invariants:
 * <ul>
 *   <li>The shapes of a namespace never overlap (equal prefixes, or one beginning with another, are refused) and share
 *       one CDC listener staleness bound (one listener serves them all).</li>
 *   <li>A changed key is offered to every shape of its namespace whose prefix it begins with, so each drops its own
 *       entry (an extra drop in the plain shape is harmless: no key of it begins with a sibling's prefix).</li>
 *   <li>A shape added later takes its keys out of the plain shape's L1 (entries and reads in flight).</li>
 * </ul>
 */
final class KeyShapes {

  /** A registered shape, and whether it is its namespace's first (then tracking must cover the namespace). */
  record Added(KeyShape shape, boolean newNamespace) {}

  private final ListenerWatch listeners;
  /** The key shapes of each namespace, in registration order. */
  private final ConcurrentHashMap<String, List<KeyShape>> shapes = new ConcurrentHashMap<>();
  /** Each namespace's listener signal and the bound it was registered with (every shape must agree on it). */
  private final ConcurrentHashMap<String, ListenerWatch.Signal> signals = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Optional<Duration>> bounds = new ConcurrentHashMap<>();

  KeyShapes(ListenerWatch listeners) {
    this.listeners = listeners;
  }

  /**
   * Adds a cache (one key shape of a namespace), its L1 ({@code null} when L1 is off) and its single-flight table.
   *
   * @throws IllegalArgumentException when the namespace already has this key shape, or one that overlaps it, or its
   *     other shapes set another listener staleness bound
   */
  Added add(String namespace, String prefix, L1Store store, SingleFlight<?> flight, Duration listenerStalenessBound) {
    KeyShape shape;
    boolean newNamespace;
    synchronized (shapes) {
      List<KeyShape> existing = shapes.get(namespace);
      newNamespace = existing == null;
      if (!newNamespace) {
        for (KeyShape other : existing) {
          if (other.prefix.equals(prefix)) {
            throw new IllegalArgumentException("a cache with namespace '" + namespace + "'" + (prefix.isEmpty()
                ? "" : " and keyPrefix '" + prefix + "'") + " already exists in this client; to cache the rows of "
                + "one namespace under another kind of key, give that cache its own CacheOptions.keyPrefix");
          }
          if (!other.prefix.isEmpty() && !prefix.isEmpty()
              && (other.prefix.startsWith(prefix) || prefix.startsWith(other.prefix))) {
            throw new IllegalArgumentException("namespace '" + namespace + "': keyPrefix '" + prefix + "' overlaps "
                + "keyPrefix '" + other.prefix + "' of another cache in this client (one begins with the other, so "
                + "their keys could be one Redis key)");
          }
        }
        Optional<Duration> bound = bounds.get(namespace);
        if (!bound.equals(Optional.ofNullable(listenerStalenessBound))) {
          throw new IllegalArgumentException("namespace '" + namespace + "': the cache with keyPrefix '" + prefix
              + "' sets listenerStalenessBound " + listenerStalenessBound + " but the namespace's other caches set "
              + bound.map(Duration::toString).orElse("none") + "; one CDC listener serves them all: give every cache "
              + "of the namespace the same bound");
        }
      }
      ListenerWatch.Signal signal = newNamespace ? listeners.watch(namespace, listenerStalenessBound)
          : signals.get(namespace);
      List<KeyShape> siblings = newNamespace ? new CopyOnWriteArrayList<>() : existing;
      shape = new KeyShape(namespace, prefix, store, flight, signal, siblings);
      siblings.add(shape);
      if (newNamespace) {
        signals.put(namespace, signal);
        bounds.put(namespace, Optional.ofNullable(listenerStalenessBound));
        shapes.put(namespace, siblings);
      }
    }
    if (!newNamespace && !prefix.isEmpty()) {
      // Keys the plain shape cached before this shape existed may now be this shape's keys: the plain shape must
      // not serve them from L1 (it refuses to read them from now on), nor let a read in flight put them there.
      for (KeyShape sibling : shape.siblings) {
        if (sibling.prefix.isEmpty() && sibling.store != null) {
          sibling.store.invalidateStartingWith(prefix);
        }
      }
    }
    return new Added(shape, newNamespace);
  }

  /** Redis reported a change of {@code redisKey}: every shape it may belong to drops it; whether an L1 dropped it. */
  boolean changed(String redisKey) {
    int colon = redisKey.indexOf(':');
    List<KeyShape> list = colon > 0 ? shapes.get(redisKey.substring(0, colon)) : null;
    if (list == null) {
      return false;
    }
    String afterNamespace = redisKey.substring(colon + 1);
    boolean dropped = false;
    for (KeyShape shape : list) {
      if (afterNamespace.startsWith(shape.prefix)) {
        dropped |= shape.changed(afterNamespace.substring(shape.prefix.length()));
      }
    }
    return dropped;
  }

  /** Every L1 cleared and every flight detached (leaving degraded mode, a flush). */
  void clearAll() {
    for (List<KeyShape> list : shapes.values()) {
      for (KeyShape shape : list) {
        shape.clear();
      }
    }
  }
}
