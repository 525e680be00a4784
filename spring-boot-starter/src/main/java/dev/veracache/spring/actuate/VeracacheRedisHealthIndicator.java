package dev.veracache.spring.actuate;

import dev.veracache.Veracache;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

/**
 * The Redis link of the caches, as health {@code veracacheRedis}:
 * <ul>
 *   <li><b>DOWN</b>: Redis is unreachable, or its breaker is open, or tracking is being restored: every read is served
 *       by the database (the service still answers: the status is for the link, and this indicator is in no
 *       probe group by default).</li>
 *   <li><b>DEGRADED</b> (HTTP 200), with {@code reasons}: Redis answers but some reads bypass it: it refuses the
 *       heartbeat write (paused, read-only, out of memory), invalidations wait for a retry, or a namespace's CDC
 *       listener is too far behind.</li>
 *   <li><b>UP</b> otherwise; <b>UNKNOWN</b> before the first cache exists (the link is watched through the caches'
 *       invalidation tracking).</li>
 * </ul>
 */
public class VeracacheRedisHealthIndicator implements HealthIndicator {

  /** Redis answers, but some reads bypass it; see the {@code reasons} detail. */
  public static final Status DEGRADED = new Status("DEGRADED");

  private final Veracache veracache;
  private final Collection<String> namespaces;

  /** @param namespaces the namespaces whose CDC listener trust is reported (the cache manager's) */
  public VeracacheRedisHealthIndicator(Veracache veracache, Collection<String> namespaces) {
    this.veracache = veracache;
    this.namespaces = namespaces;
  }

  @Override
  public Health health() {
    String endpoint = veracache.options().redisUri().getHost() + ":" + veracache.options().redisUri().getPort();
    if (!namespaces.iterator().hasNext()) { // the client watches Redis through its caches' tracking: none yet
      return Health.unknown().withDetail("redis", endpoint).withDetail("reason", "no cache created yet").build();
    }
    // Down when invalidations may be missed and Redis is not merely refusing writes: unreachable (its heartbeat fails
    // too, and whether the heartbeat or the disconnect is seen first is a race, so the connection decides).
    if (veracache.degraded() && (!veracache.redisRefusesWrites() || !veracache.redisConnected())) {
      return Health.down().withDetail("redis", endpoint)
          .withDetail("reason", "Redis unreachable (or breaker open): reads are served by the database").build();
    }
    List<String> reasons = new ArrayList<>();
    if (veracache.redisRefusesWrites()) {
      reasons.add("Redis refuses the heartbeat write (paused, read-only or out of memory): reads bypass it");
    }
    int pending = veracache.pendingInvalidations();
    if (pending > 0) {
      reasons.add(pending + " invalidation(s) waiting for a retry: reads of those keys bypass Redis");
    }
    for (String namespace : namespaces) {
      if (veracache.listenerUntrusted(namespace)) {
        reasons.add("namespace '" + namespace + "': its CDC listener is too far behind (or unknown): reads bypass "
            + "Redis");
      }
    }
    Health.Builder health = reasons.isEmpty() ? Health.up() : Health.status(DEGRADED).withDetail("reasons", reasons);
    return health.withDetail("redis", endpoint).withDetail("pendingInvalidations", pending).build();
  }
}
