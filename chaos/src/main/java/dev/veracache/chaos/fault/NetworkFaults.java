package dev.veracache.chaos.fault;

import java.time.Duration;

/** The timed faults of the network between the instances and Redis, through each instance's {@link TcpProxy}. */
final class NetworkFaults {

  /** DROP_CONNECTIONS: how long new connections are refused after every open one was closed. */
  static final long DROP_REFUSAL_MILLIS = 300;

  private NetworkFaults() {}

  /** REDIS_LATENCY: every instance's Redis connection gets {@code latencyMillis} one-way latency. */
  static final class Latency implements Fault {
    @Override
    public boolean needsProxies() {
      return true;
    }

    @Override
    public void inject(FaultTarget target) {
      Duration latency = Duration.ofMillis(target.context().scenario.fault().latencyMillis());
      target.proxies().forEach(p -> p.latency(latency));
    }

    @Override
    public void end(FaultTarget target) {
      target.proxies().forEach(p -> p.latency(Duration.ZERO));
    }
  }

  /** PARTITION_INSTANCE (R5): the last instance is cut off from Redis (its proxy refuses connections), then healed. */
  static final class PartitionInstance implements Fault {
    @Override
    public boolean needsProxies() {
      return true;
    }

    @Override
    public void inject(FaultTarget target) {
      target.proxies().get(target.proxies().size() - 1).partition();
    }

    @Override
    public void end(FaultTarget target) {
      target.proxies().get(target.proxies().size() - 1).heal();
    }
  }

  /**
   * DROP_CONNECTIONS: a network blip: every instance's Redis connections are dropped, new ones refused for
   * {@link #DROP_REFUSAL_MILLIS}; then the clients reconnect by themselves.
   */
  static final class DropConnections implements Fault {
    @Override
    public boolean needsProxies() {
      return true;
    }

    @Override
    public void inject(FaultTarget target) {
      target.proxies().forEach(TcpProxy::partition);
      sleepQuietly(DROP_REFUSAL_MILLIS);
      target.proxies().forEach(TcpProxy::heal);
    }

    // end: nothing, one drop; the clients reconnect by themselves
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
