package dev.veracache.chaos.fault;

import dev.veracache.chaos.check.RedisReader;
import dev.veracache.stack.RedisCluster;
import dev.veracache.stack.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The network between one cache instance and Redis, for the faults that act on it (latency, a partition, dropped
 * connections): a {@link TcpProxy} to the single Redis, or on the Redis Cluster one proxy per node, the instance's
 * client connecting to each node through its proxy ({@code VeracacheOptions.Builder.addressMapping}: the seeds and
 * every address the topology names). A fault acts on every proxy of the instance at once.
 */
public final class InstanceNetwork implements AutoCloseable {

  private final List<TcpProxy> proxies;
  private final String redisAddress;

  private InstanceNetwork(List<TcpProxy> proxies, String redisAddress) {
    this.proxies = List.copyOf(proxies);
    this.redisAddress = redisAddress;
  }

  /** One proxy to the single Redis at {@code redisUri} ({@code host}:{@code port}). */
  public static InstanceNetwork toRedis(String name, String host, int port, String redisUri) {
    TcpProxy proxy = TcpProxy.start(name, host, port);
    return new InstanceNetwork(List.of(proxy), proxy.proxiedRedisUri(redisUri));
  }

  /** One proxy per node of the cluster; the address names the nodes as announced, mapped to their proxies. */
  public static InstanceNetwork toCluster(String name, RedisCluster cluster) {
    List<TcpProxy> proxies = new ArrayList<>();
    Map<String, String> mapping = new LinkedHashMap<>();
    try {
      for (RedisServer node : cluster.nodes()) {
        TcpProxy proxy = TcpProxy.start(name + "-" + node.port(), node.host(), node.port());
        proxies.add(proxy);
        mapping.put(node.host() + ":" + node.port(), proxy.host() + ":" + proxy.port());
      }
    } catch (RuntimeException e) {
      proxies.forEach(TcpProxy::close);
      throw e;
    }
    return new InstanceNetwork(proxies, RedisReader.clusterAddress(cluster.seedUris(), mapping));
  }

  /** What the instance connects to, as the strategies take it (a Redis URI or a cluster address). */
  public String redisAddress() {
    return redisAddress;
  }

  /** Connections forwarded now, over every proxy of the instance. */
  public int openConnections() {
    return proxies.stream().mapToInt(TcpProxy::openConnections).sum();
  }

  /** See {@link TcpProxy#latency}; on every proxy of the instance. */
  public void latency(Duration oneWay) {
    proxies.forEach(p -> p.latency(oneWay));
  }

  /** See {@link TcpProxy#partition}; on every proxy of the instance. */
  public void partition() {
    proxies.forEach(TcpProxy::partition);
  }

  /** See {@link TcpProxy#heal}; on every proxy of the instance. */
  public void heal() {
    proxies.forEach(TcpProxy::heal);
  }

  @Override
  public void close() {
    proxies.forEach(TcpProxy::close);
  }

  @Override
  public String toString() {
    return "InstanceNetwork" + proxies;
  }
}
