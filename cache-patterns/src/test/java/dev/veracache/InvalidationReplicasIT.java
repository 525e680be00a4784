package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@code invalidationReplicas} on one Redis that has no replica: no write is ever acknowledged, so every write that
 * removes or replaces a value must stay queued, with reads of its key going to the database, rather than count as
 * taken. (The acknowledged path, and a failover that loses such a write, are {@link ClusterFailoverLossIT} and
 * {@link ClusterFailoverReviewIT} on the embedded cluster.)
 */
class InvalidationReplicasIT extends RealServersTest {

  @Test
  void anInvalidationNoReplicaAcknowledgedStaysPendingAndItsKeyIsReadFromTheDatabase() throws Exception {
    products.insert(1, "v1");
    Veracache jvm = newInstance(b -> b.invalidationReplicas(1));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    assertThat(cache.get(1L, loader()).name()).isEqualTo("v1");

    Product v2 = products.update(1, "v2");
    cache.invalidate(1L, v2.version());

    assertThat(jvm.pendingInvalidations()).as("taken by the master, acknowledged by no replica").isEqualTo(1);
    assertThat(rawRecord(1)).as("the master holds the tombstone").startsWith("P:" + v2.version() + ":");
    assertThat(cache.get(1L, loader()).name()).isEqualTo("v2");
    assertThat(rawRecord(1)).as("a read of a pending key does not fill Redis").startsWith("P:");
    assertThat(counter(jvm, "veracache.redis.errors", "reason", "not_durable")).isPositive();
  }

  @Test
  void aWriteThroughSetNoReplicaAcknowledgedBecomesAPendingInvalidationAtItsVersion() throws Exception {
    products.insert(2, "v1");
    Veracache jvm = newInstance(b -> b.invalidationReplicas(1));
    WriteThroughCache<Long, Product> cache = jvm.writeThrough(productOptions().build(), loader(),
        productWriter());
    assertThat(cache.get(2L).name()).isEqualTo("v1");
    byte[] v1Record = redisCli.get(redisKey(2));

    cache.put(2L, new Product(2, "v2", 0));
    long v2 = products.find(2L).version();

    assertThat(jvm.pendingInvalidations()).as("the set was not acknowledged: an invalidation at its version waits")
        .isEqualTo(1);
    assertThat(cache.get(2L).name()).isEqualTo("v2");
    // What a promoted replica that never got the set would hold: the retried invalidation at v2 replaces it.
    redisCli.set(redisKey(2), v1Record);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .until(() -> rawRecord(2).startsWith("P:" + v2 + ":"));
  }

  @Test
  void anInvalidateAllNoReplicaAcknowledgedStaysQueuedAndTheCacheIsReadFromTheDatabase() throws Exception {
    products.insert(3, "v1");
    Veracache jvm = newInstance(b -> b.invalidationReplicas(1));
    CacheAside<Long, Product> cache = jvm.cacheAside(productOptions().build());
    cache.get(3L, loader());

    products.update(3, "v2");
    cache.tiered().invalidateAll();

    assertThat(jvm.pendingInvalidations()).as("the clear waits for a replica").isEqualTo(1);
    assertThat(rawRecord(3)).as("the master deleted the keys").isNull();
    assertThat(cache.get(3L, loader()).name()).isEqualTo("v2");
    assertThat(rawRecord(3)).as("reads of the cache bypass Redis while the clear is pending").isNull();
  }
}
