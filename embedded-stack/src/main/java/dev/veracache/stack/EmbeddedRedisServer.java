package dev.veracache.stack;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import redis.embedded.core.ExecutableProvider;

/**
 * A real redis-server (6.2, the binary shipped in embedded-redis) run as a child process on a fixed free port, bound
 * to 127.0.0.1, without persistence, in a private directory.
 */
final class EmbeddedRedisServer extends EmbeddedServer implements RedisServer {

  static final String PID_FILE = "redis.pid";

  private File binary;
  private Process process;

  EmbeddedRedisServer(Path dir, int port) {
    super(dir, port);
  }

  @Override
  long startProcess() {
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
    awaitPong();
    return process.pid();
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
    process.destroyForcibly();
    throw new IllegalStateException("redis-server on port " + port + " did not answer PING", last);
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

  @Override
  public String toString() {
    return "embedded Redis on 127.0.0.1:" + port;
  }
}
