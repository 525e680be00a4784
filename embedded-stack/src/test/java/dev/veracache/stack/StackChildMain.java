package dev.veracache.stack;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link OrphanCleanupIT} and {@link GivenRedisBinaryIT}: starts an embedded stack and its Kafka
 * broker, prints the server pids ({@code PIDS <database> <redis> <kafka>}), waits. With a redis-server as the first
 * argument, only that Redis is started (the database is a never-contacted external one, pid -1, and there is no
 * broker), to keep the test short.
 */
public final class StackChildMain {
  public static void main(String[] args) throws Exception {
    StackConfig config = args.length > 0
        ? StackConfig.builder().redisBinary(Path.of(args[0]))
            .externalDatabase("jdbc:mysql://127.0.0.1:1/unused", "root", "").build()
        : StackConfig.embedded();
    EmbeddedStack stack = EmbeddedStack.start(config);
    String kafka = args.length > 0 ? "" : " " + stack.kafka().pid();
    System.out.println("PIDS " + stack.database().pid() + " " + stack.redis().pid() + kafka);
    System.out.flush();
    Thread.currentThread().join(); // until killed
  }
}
