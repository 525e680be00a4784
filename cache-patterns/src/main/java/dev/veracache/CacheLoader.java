package dev.veracache;

/** Reads the source of truth (usually the database) for one key. Returns {@code null} when the row does not exist. */
@FunctionalInterface
public interface CacheLoader<K, V> {
  V load(K key) throws Exception;
}
