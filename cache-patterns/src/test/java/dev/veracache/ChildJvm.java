package dev.veracache;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A main class of the test classpath in a JVM of its own, for kill -9 tests: its stdout lines are collected, its stdin
 * is held open (the child halts when it closes, so it never outlives the test), and {@link #kill} is SIGKILL.
 */
final class ChildJvm implements AutoCloseable {

  private final Process process;
  final List<String> lines = new CopyOnWriteArrayList<>();

  private ChildJvm(Process process) {
    this.process = process;
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException e) {
        // the child died
      }
    }, "child-stdout-" + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  static ChildJvm start(Class<?> main, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    // C1 only and the serial collector: a child here lives seconds and mostly waits on Redis, Kafka and the database,
    // so a quick start matters more than peak speed (as for the broker's and the chaos module's child JVMs).
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(List.of(args));
    return new ChildJvm(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start());
  }

  /** Waits (bounded) until the child printed a line equal to {@code line}; fails naming it. */
  void awaitLine(String line, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!lines.contains(line)) {
      if (System.nanoTime() > deadline || !process.isAlive()) {
        throw new AssertionError("child " + process.pid() + " did not print " + line + " (alive: "
            + process.isAlive() + "); its last lines:\n" + tail());
      }
      Thread.sleep(20);
    }
  }

  /** Waits (bounded) until the child printed at least {@code count} lines starting with {@code prefix}. */
  void awaitLines(String prefix, int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (linesStartingWith(prefix).size() < count) {
      if (System.nanoTime() > deadline || !process.isAlive()) {
        throw new AssertionError("child " + process.pid() + " printed " + linesStartingWith(prefix).size() + " "
            + prefix + " lines, not " + count + " (alive: " + process.isAlive() + "); its last lines:\n" + tail());
      }
      Thread.sleep(5);
    }
  }

  private String tail() {
    List<String> all = List.copyOf(lines);
    return String.join("\n", all.subList(Math.max(0, all.size() - 20), all.size()));
  }

  List<String> linesStartingWith(String prefix) {
    return lines.stream().filter(l -> l.startsWith(prefix)).toList();
  }

  /** SIGKILL, and waits until the process is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }
}
