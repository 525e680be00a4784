package dev.veracache;

/**
 * One key's latest write in a flushed batch: its value ({@code null} for a delete) and the version the write got,
 * which the row must store. Earlier writes of the key in the same batch were coalesced into it (the highest version
 * wins).
 */
public record WriteBehindChange<K, V>(K key, V value, long version) {

  public boolean deleted() {
    return value == null;
  }
}
