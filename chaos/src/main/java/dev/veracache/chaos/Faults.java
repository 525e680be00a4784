package dev.veracache.chaos;

import dev.veracache.chaos.fault.TcpProxy;
import dev.veracache.stack.EmbeddedStack;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Injects a scenario's fault while its workload runs, and heals it. Timed faults are active for the middle third of
 * the run (recorded in the history as the fault window); race injections (FILL_RACE and the like) act through
 * {@link RunContext} for the whole run. {@link #heal()} undoes every fault there is, whatever was injected, and
 * returns once the CDC listener is live again: quiescence starts from there. A crashed listener is restarted only
 * there, after the workload stopped, so that everything written since the crash must come from its stored position.
 */
final class Faults {

  private static final Logger log = LoggerFactory.getLogger(Faults.class);

  private final EmbeddedStack stack;
  private final Scenario scenario;
  private final History history;
  private final List<TcpProxy> proxies;
  private final CdcListenerControl listener;

  Faults(EmbeddedStack stack, Scenario scenario, History history, List<TcpProxy> proxies,
      CdcListenerControl listener) {
    this.stack = stack;
    this.scenario = scenario;
    this.history = history;
    this.proxies = proxies;
    this.listener = listener;
  }

  /** Runs the workload's duration with the fault; returns when the workload should stop. */
  void inject() throws InterruptedException {
    long total = scenario.seconds() * 1000L;
    long third = total / 3;
    if (!scenario.fault().timed) {
      history.faultStarted();
      Thread.sleep(total);
      history.faultEnded();
      return;
    }
    Thread.sleep(third);
    log.info("fault {} on", scenario.fault());
    history.faultStarted();
    start();
    Thread.sleep(third);
    end();
    history.faultEnded();
    log.info("fault {} healed", scenario.fault());
    Thread.sleep(total - 2 * third);
  }

  private void start() {
    switch (scenario.fault()) {
      case REDIS_READONLY -> ScenarioRunner.redisCommand(stack, c -> c.replicaof("127.0.0.1", 1)); // no primary there
      case REDIS_PAUSE -> stack.redis().pause();
      case REDIS_RESTART -> stack.redis().stop(); // no persistence: its data is gone when it starts again
      case REDIS_LATENCY -> proxies.forEach(p -> p.latency(Duration.ofMillis(scenario.latencyMillis())));
      case PARTITION_INSTANCE -> proxies.get(proxies.size() - 1).partition();
      case DROP_CONNECTIONS -> proxies.forEach(TcpProxy::dropConnections);
      case LISTENER_CRASH -> listener.crashBeforeNextApply(Duration.ofMillis(scenario.seconds() * 1000L / 3));
      case LISTENER_PAUSE -> listener.pause();
      case DB_RESTART -> stack.database().stop();
      default -> throw new IllegalStateException("no timed fault " + scenario.fault());
    }
  }

  private void end() {
    switch (scenario.fault()) {
      case REDIS_READONLY -> ScenarioRunner.redisCommand(stack, c -> c.replicaofNoOne());
      case REDIS_PAUSE -> stack.redis().resume();
      case REDIS_RESTART -> stack.redis().start();
      case REDIS_LATENCY -> proxies.forEach(p -> p.latency(Duration.ZERO));
      case PARTITION_INSTANCE -> proxies.get(proxies.size() - 1).heal();
      case DROP_CONNECTIONS -> { } // one drop; the clients reconnect by themselves
      case LISTENER_CRASH -> { } // it stays down until heal(): every write since the crash is its backlog
      case LISTENER_PAUSE -> listener.resume();
      case DB_RESTART -> {
        stack.database().start();
        if (listener != null) {
          listener.ensureLive();
        }
      }
      default -> throw new IllegalStateException("no timed fault " + scenario.fault());
    }
  }

  /** Undoes every fault (idempotent); returns once the CDC listener, if any, is live. */
  void heal() {
    if (stack.redis().controllable()) {
      if (stack.redis().isPaused()) {
        stack.redis().resume();
      }
      if (!stack.redis().isRunning()) {
        stack.redis().start();
      }
    }
    try {
      ScenarioRunner.redisCommand(stack, c -> c.replicaofNoOne());
    } catch (RuntimeException e) {
      log.warn("cannot make Redis a primary again: {}", e.toString());
    }
    if (stack.database().controllable() && !stack.database().isRunning()) {
      stack.database().start();
    }
    for (TcpProxy proxy : proxies) {
      proxy.heal();
      proxy.latency(Duration.ZERO);
    }
    if (listener != null) {
      listener.resume();
      listener.ensureLive();
    }
  }
}
