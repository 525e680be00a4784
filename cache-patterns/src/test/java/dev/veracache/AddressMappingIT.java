package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code addressMapping} on a real Redis: the client is given an address nobody can reach and a mapping to where the
 * Redis really listens. Each form a user may write for the target must reach it.
 */
class AddressMappingIT extends RealServersTest {

  private static final String UNREACHABLE = "veracache-unreachable.invalid:6390";

  @Test
  void anUnbracketedIpv6TargetIsReachedAtItsPortNotReadAsAHostAlone() throws Exception {
    assertMappedClientFillsRedis(Map.of(UNREACHABLE, "::ffff:127.0.0.1:" + redisServer.port()), 1);
  }

  @Test
  void aBracketedIpv6TargetIsReached() throws Exception {
    assertMappedClientFillsRedis(Map.of(UNREACHABLE, "[::ffff:127.0.0.1]:" + redisServer.port()), 2);
  }

  @Test
  void aHostNameTargetIsReached() throws Exception {
    assertMappedClientFillsRedis(Map.of(UNREACHABLE, "localhost:" + redisServer.port()), 3);
  }

  private void assertMappedClientFillsRedis(Map<String, String> mapping, long id) throws Exception {
    products.insert(id, "v1");
    Veracache instance = newInstance("redis://" + UNREACHABLE, b -> b.addressMapping(mapping));
    CacheAside<Long, Product> cache = instance.cacheAside(productOptions().build());
    assertThat(cache.get(id, loader()).name()).isEqualTo("v1");
    assertThat(rawRecord(id)).as("the fill reached the Redis the mapping %s names", mapping).isNotNull()
        .contains("v1");
  }
}
