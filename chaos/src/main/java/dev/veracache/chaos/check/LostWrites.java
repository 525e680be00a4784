package dev.veracache.chaos.check;

import dev.veracache.chaos.workload.History;
import dev.veracache.chaos.workload.Workload;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Acknowledged writes the database does not have. Every write in the {@link History} is acknowledged: its commit
 * returned (or, for a write-behind, its put did). It is <b>lost</b> when the database's committed version of its key
 * at the end ({@link Workload#committedVersions()}) is older than the write's version.
 *
 * <p>Invariants:
 * <ul>
 *   <li>Versions only grow per row (the sequence counter hands out each version once, deletes included), so a
 *       committed version at least the write's means the write, or a later change of the row, is there: a later
 *       delete of the row, a later update, or the row leaving that SKU is not a loss.</li>
 *   <li>A deleted row's version is the version of its delete (kept by the sequence counter), so an acknowledged
 *       delete is lost when the row is back at an older version.</li>
 *   <li>A key of the history the database knows nothing about is not skipped: it throws, naming the key.</li>
 * </ul>
 */
public final class LostWrites {

  private static final Logger log = LoggerFactory.getLogger(LostWrites.class);
  private static final int LOGGED = 10;

  /** One lost write: what was acknowledged, and the version the database has. */
  public record Lost(History.Write write, long committedVersion) {
    @Override
    public String toString() {
      return write.key() + (write.deleted() ? " delete" : " write") + " at v" + write.version()
          + " acknowledged, database at v" + committedVersion;
    }
  }

  private LostWrites() {}

  /** The history's lost writes against the workload's database now; logs the first few at WARN. */
  public static List<Lost> find(History history, Workload workload, String label) throws SQLException {
    List<Lost> lost = find(history.writes(), workload.committedVersions());
    if (!lost.isEmpty()) {
      log.warn("{}: {} acknowledged writes lost (the database's version of their key is older), first {}:\n  {}",
          label, lost.size(), Math.min(LOGGED, lost.size()),
          String.join("\n  ", lost.subList(0, Math.min(LOGGED, lost.size())).stream().map(Lost::toString).toList()));
    }
    return lost;
  }

  /**
   * The writes whose key's committed version is older than theirs, in commit order.
   *
   * @throws IllegalStateException naming a written key that {@code committedVersions} does not have
   */
  static List<Lost> find(List<History.Write> writes, Map<String, Long> committedVersions) {
    List<Lost> lost = new ArrayList<>();
    for (History.Write write : writes) {
      Long committed = committedVersions.get(write.key());
      if (committed == null) {
        throw new IllegalStateException("lost writes: the database has no version for key " + write.key()
            + ", written at v" + write.version() + " (not a key of the workload's table)");
      }
      if (committed < write.version()) {
        lost.add(new Lost(write, committed));
      }
    }
    lost.sort(Comparator.comparingLong(l -> l.write().commitNanos()));
    return lost;
  }
}
