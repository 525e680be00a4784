package dev.veracache.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.core.ExecutableProvider;

/**
 * A real redis-server run as a child process on a fixed free port, bound to 127.0.0.1, without persistence, in a
 * private directory: by default the 6.2 binary shipped in embedded-redis, or a given one
 * ({@link StackConfig#redisBinary()}, e.g. Debian's Redis 7.0).
 *
 * <p>Invariants:
 * <ul>
 *   <li>The directory records the server's pid ({@value #PID_FILE}, written by Redis) and the real path of the binary
 *       it runs ({@value #BINARY_FILE}), so that a later JVM can recognise a server left behind by a dead one even
 *       when the binary is not called redis-server (Debian's is a link to {@code redis-check-rdb}).</li>
 *   <li>A server that runs is at least Redis 6.0 (RESP3, client tracking): an older binary is stopped at start with
 *       an error naming it and its version.</li>
 * </ul>
 */
final class EmbeddedRedisServer extends EmbeddedServer implements RedisServer {

  static final String PID_FILE = "redis.pid";
  static final String BINARY_FILE = "redis.binary";

  /** The binary to run; null until the first start when the one shipped in embedded-redis is used. */
  private Path binary;
  private final boolean bundled;
  private volatile String version;
  private Process process;

  /** Further redis-server arguments (a cluster node's), after the ones every server gets. */
  private final List<String> extraArgs;

  /** @param binary the redis-server to run, or null for the one shipped in embedded-redis */
  EmbeddedRedisServer(Path dir, int port, Path binary) {
    this(dir, port, binary, List.of());
  }

  EmbeddedRedisServer(Path dir, int port, Path binary, List<String> extraArgs) {
    super(dir, port);
    this.binary = binary;
    this.bundled = binary == null;
    this.extraArgs = List.copyOf(extraArgs);
  }

  /** The last {@code lines} lines of this server's log (redis.log in its directory); empty when there is none yet. */
  String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(dir.resolve("redis.log"));
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (java.io.IOException e) {
      return "";
    }
  }

  @Override
  long startProcess() {
    try {
      Files.createDirectories(dir);
      if (binary == null) {
        binary = ownCopyOfTheBundledBinary();
      }
      Files.writeString(dir.resolve(BINARY_FILE), binary.toRealPath().toString());
      for (int attempt = 1; ; attempt++) {
        launch();
        int exit = awaitPongOrExit();
        if (exit == ANSWERED) {
          break;
        }
        if (exit != EXIT_CANNOT_EXECUTE || attempt == EXEC_ATTEMPTS) {
          throw new IllegalStateException(binary + " exited at start (code " + exit + "); see "
              + dir.resolve("redis.log"));
        }
        // The binary was just written here, and another thread of this JVM forked meanwhile: until that child
        // closes its copy of the write descriptor, exec fails with "Text file busy" (exit 126). Seen once while
        // MariaDB started beside Redis. Try again shortly; the descriptor is gone once the child has exec'd.
        log.warn("{} could not be executed yet (exit 126, text file busy: another process was starting); trying "
            + "again ({} of {})", binary, attempt + 1, EXEC_ATTEMPTS);
        Thread.sleep(100L * attempt);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + binary + " on port " + port + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting " + binary + " on port " + port, e);
    }
    if (version == null) {
      version = askVersion();
      if (!RedisVersions.atLeast(version, 6, 0)) {
        long pid = process.pid();
        stopProcess(pid);
        throw new IllegalStateException(binary + " is Redis " + version + ": Veracache needs Redis 6.0 or newer "
            + "(RESP3 and client tracking)");
      }
    }
    return process.pid();
  }

  /**
   * embedded-redis extracts its binary into a new temporary directory each time; moved into this server's private
   * directory, it goes with it when the stack ends instead of staying behind (9 MB per run).
   */
  private Path ownCopyOfTheBundledBinary() throws IOException {
    Path extracted = ExecutableProvider.newJarResourceProvider().get().toPath();
    Path own = dir.resolve("redis-server");
    Files.move(extracted, own, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Path extractedDir = extracted.getParent();
    try (var left = Files.list(extractedDir)) {
      if (left.findAny().isEmpty()) {
        Files.delete(extractedDir);
      }
    }
    return own;
  }

  private static final Logger log = LoggerFactory.getLogger(EmbeddedRedisServer.class);
  private static final int EXEC_ATTEMPTS = 3;

  private void launch() throws IOException {
    List<String> command = new java.util.ArrayList<>(List.of(binary.toString(),
        "--port", Integer.toString(port), "--bind", "127.0.0.1", "--protected-mode", "no",
        "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--dir", dir.toString(), "--pidfile", dir.resolve(PID_FILE).toString()));
    command.addAll(extraArgs);
    process = new ProcessBuilder(ProcessControl.inOwnSession(command))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
        .start();
    spawned(process.pid());
  }

  private String askVersion() {
    try {
      return RespClient.version("127.0.0.1", port, null, 5000);
    } catch (IOException e) {
      throw new IllegalStateException("cannot ask " + this + " for its version: " + e.getMessage(), e);
    }
  }

  /** What {@link #awaitPongOrExit} returns when the server answered PING. */
  private static final int ANSWERED = -1;

  /** The exit code of a process that was found but could not be executed (here: ETXTBSY). */
  private static final int EXIT_CANNOT_EXECUTE = 126;

  /** Waits until the server answers PING ({@link #ANSWERED}) or its process exits (its exit code). */
  private int awaitPongOrExit() {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        return process.exitValue();
      }
      try {
        if ("+PONG".equals(RespClient.command("127.0.0.1", port, null, 1000, "PING"))) {
          return ANSWERED;
        }
      } catch (IOException e) {
        last = e;
      }
      try {
        Thread.sleep(10); // polling a condition (the port answers), not waiting for a race
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    process.destroyForcibly();
    throw new IllegalStateException(binary + " on port " + port + " did not answer PING within 20 s; see "
        + dir.resolve("redis.log"), last);
  }

  @Override
  void stopProcess(long pid) {
    process.destroy();
    if (!ProcessControl.awaitExit(pid, Duration.ofSeconds(5))) {
      process.destroyForcibly();
      ProcessControl.awaitExit(pid, Duration.ofSeconds(5));
    }
    process = null;
  }

  @Override
  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  @Override
  public void flushAll() {
    try {
      RespClient.command("127.0.0.1", port, null, 5000, "FLUSHALL");
    } catch (IOException e) {
      throw new IllegalStateException("FLUSHALL on Redis port " + port + " failed: " + e.getMessage(), e);
    }
  }

  /** The version the server reported at its first start (the binary does not change between restarts). */
  @Override
  public String version() {
    String known = version;
    return known != null ? known : askVersion();
  }

  @Override
  public String toString() {
    String v = version;
    return "embedded Redis " + (v == null ? "" : v + " ") + "(" + (bundled ? "bundled" : binary) + ") on 127.0.0.1:"
        + port;
  }
}
