package dev.veracache.stack;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.core.ExecutableProvider;

/**
 * A real redis-server (6.2, the binary shipped in embedded-redis) run as a child process on a fixed free port, bound
 * to 127.0.0.1, without persistence, in a private directory. Guarded by an orphan watchdog.
 */
final class EmbeddedRedisServer implements RedisServer {

  private static final Logger log = LoggerFactory.getLogger(EmbeddedRedisServer.class);
  static final String PID_FILE = "redis.pid";

  private final Path dir;
  private final int port;
  private File binary;
  private Process process;
  private Process watchdog;
  private volatile boolean paused;

  EmbeddedRedisServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  @Override
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      return;
    }
    long started = System.nanoTime();
    try {
      Files.createDirectories(dir);
      if (binary == null) {
        binary = ExecutableProvider.newJarResourceProvider().get();
      }
      process = new ProcessBuilder(List.of(binary.getAbsolutePath(),
          "--port", Integer.toString(port), "--bind", "127.0.0.1", "--protected-mode", "no",
          "--save", "", "--appendonly", "no", "--daemonize", "no",
          "--dir", dir.toString(), "--pidfile", dir.resolve(PID_FILE).toString()))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
          .start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start redis-server on port " + port + ": " + e.getMessage(), e);
    }
    watchdog = ProcessControl.watchdog(process.pid());
    awaitPong();
    paused = false;
    log.info("Redis started on 127.0.0.1:{} (pid {}) in {} ms", port, process.pid(),
        (System.nanoTime() - started) / 1_000_000);
  }

  private void awaitPong() {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("redis-server exited at start (code " + process.exitValue() + "); see "
            + dir.resolve("redis.log"));
      }
      try {
        if ("+PONG".equals(RespClient.command("127.0.0.1", port, null, 1000, "PING"))) {
          return;
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
    throw new IllegalStateException("redis-server on port " + port + " did not answer PING", last);
  }

  @Override
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    if (paused) {
      ProcessControl.signal(process.pid(), "CONT");
      paused = false;
    }
    process.destroy();
    if (!ProcessControl.awaitExit(process.pid(), Duration.ofSeconds(5))) {
      process.destroyForcibly();
      ProcessControl.awaitExit(process.pid(), Duration.ofSeconds(5));
    }
    watchdog.destroy();
    log.info("Redis on port {} stopped", port);
    process = null;
  }

  @Override
  public void restart() {
    stop();
    start();
  }

  @Override
  public synchronized void pause() {
    ProcessControl.signal(requireRunning().pid(), "STOP");
    paused = true;
  }

  @Override
  public synchronized void resume() {
    ProcessControl.signal(requireRunning().pid(), "CONT");
    paused = false;
  }

  private Process requireRunning() {
    if (process == null) {
      throw new IllegalStateException("Redis on port " + port + " is stopped");
    }
    return process;
  }

  @Override
  public boolean controllable() {
    return true;
  }

  @Override
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  @Override
  public boolean isPaused() {
    return paused;
  }

  @Override
  public synchronized long pid() {
    return process == null ? -1 : process.pid();
  }

  @Override
  public String host() {
    return "127.0.0.1";
  }

  @Override
  public int port() {
    return port;
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

  @Override
  public String toString() {
    return "embedded Redis on 127.0.0.1:" + port;
  }
}
