package dev.veracache.chaos.fault;

import dev.veracache.chaos.scenario.Scenario.Strategy;
import java.time.Duration;
import java.util.List;

/** The timed faults of the network between the instances and Redis, through each instance's {@link InstanceNetwork}. */
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

  /**
   * PARTITION_INSTANCE (R5): the last instance is cut off from Redis (its proxies refuse connections), then healed.
   * Proven by the connections the partition cut: none means the instance did not reach Redis through its proxies.
   */
  static final class PartitionInstance implements Fault {
    static final String CONNECTIONS_CUT = "connections cut by the partition";

    @Override
    public boolean needsProxies() {
      return true;
    }

    @Override
    public List<String> provingMeasures(Strategy strategy) {
      return List.of(CONNECTIONS_CUT);
    }

    @Override
    public void inject(FaultTarget target) {
      InstanceNetwork network = target.proxies().get(target.proxies().size() - 1);
      int open = network.openConnections();
      network.partition();
      target.context().measures.add(CONNECTIONS_CUT, open);
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
      target.proxies().forEach(InstanceNetwork::partition);
      sleepQuietly(DROP_REFUSAL_MILLIS);
      target.proxies().forEach(InstanceNetwork::heal);
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
