package dev.veracache.stack;

/** Run in a child JVM by {@link OrphanCleanupTest}: starts an embedded stack, prints the server pids, waits. */
public final class StackChildMain {
  public static void main(String[] args) throws Exception {
    EmbeddedStack stack = EmbeddedStack.start(StackConfig.embedded());
    System.out.println("PIDS " + stack.database().pid() + " " + stack.redis().pid());
    System.out.flush();
    Thread.currentThread().join(); // until killed
  }
}
