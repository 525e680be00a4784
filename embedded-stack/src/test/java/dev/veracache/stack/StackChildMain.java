package dev.veracache.stack;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link OrphanCleanupTest} and {@link GivenRedisBinaryTest}: starts an embedded stack (with the
 * redis-server given as the first argument, if any), prints the server pids, waits.
 */
public final class StackChildMain {
  public static void main(String[] args) throws Exception {
    StackConfig config = args.length > 0 ? StackConfig.builder().redisBinary(Path.of(args[0])).build()
        : StackConfig.embedded();
    EmbeddedStack stack = EmbeddedStack.start(config);
    System.out.println("PIDS " + stack.database().pid() + " " + stack.redis().pid());
    System.out.flush();
    Thread.currentThread().join(); // until killed
  }
}
