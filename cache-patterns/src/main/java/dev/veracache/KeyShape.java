package dev.veracache;

import java.util.List;

/**
 * One cache of a namespace: its keys are {@code namespace:prefix<local>}; its L1 and single flight are keyed by
 * {@code <local>}. A namespace has several when a row is cached under several keys (by id, by SKU); they are
 * registered in {@link KeyShapes}.
 *
 * <p>Invariant: the plain shape (prefix {@code ""}) never reads or caches a key that begins with a sibling's prefix
 * ({@link #checkOwnKey}): it would be that sibling's Redis key too (two value types in one record).
 */
final class KeyShape {
  final String namespace;
  final String prefix; // "" for the plain shape
  final L1Store store; // null when L1 is off
  final SingleFlight<?> flight;
  final ListenerWatch.Signal signal;
  final List<KeyShape> siblings; // every shape of the namespace, this one included

  KeyShape(String namespace, String prefix, L1Store store, SingleFlight<?> flight, ListenerWatch.Signal signal,
      List<KeyShape> siblings) {
    this.namespace = namespace;
    this.prefix = prefix;
    this.store = store;
    this.flight = flight;
    this.signal = signal;
    this.siblings = siblings;
  }

  /**
   * For the plain shape: the prefix of a sibling shape that {@code local} begins with, or null. Such a key would
   * be the sibling's Redis key as well (two value types in one record), so the plain shape refuses it.
   */
  String siblingPrefixOf(String local) {
    if (!prefix.isEmpty()) {
      return null;
    }
    for (KeyShape sibling : siblings) {
      if (!sibling.prefix.isEmpty() && local.startsWith(sibling.prefix)) {
        return sibling.prefix;
      }
    }
    return null;
  }

  /**
   * Refuses a key of the plain shape that begins with a sibling shape's prefix (off the L1 hit path: an L1 entry is
   * only ever made after this check).
   *
   * @throws IllegalArgumentException naming the key, its encoding and the sibling's prefix
   */
  void checkOwnKey(Object key, String local) {
    String sibling = siblingPrefixOf(local);
    if (sibling != null) {
      throw new IllegalArgumentException("cache '" + namespace + "': key " + key + " is encoded as '" + local
          + "', which begins with '" + sibling + "', the keyPrefix of another cache of this namespace: both would "
          + "use the Redis key '" + namespace + ":" + prefix + local + "'");
    }
  }

  /** A change of {@code local} in Redis: drops it from L1 and detaches its flight; whether L1 dropped anything. */
  boolean changed(String local) {
    flight.detach(local);
    if (store == null) {
      return false;
    }
    store.invalidate(local);
    return true;
  }

  /** Every L1 entry dropped and every flight detached (invalidations may have been missed, or a flush). */
  void clear() {
    if (store != null) {
      store.clear();
    }
    flight.detachAll();
  }
}
