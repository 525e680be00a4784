package dev.veracache.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The private directories of embedded stacks: {@code ${java.io.tmpdir}/veracache-stack/<jvm pid>-<random>/}. A
 * directory whose JVM is dead is stale: its servers (if a watchdog missed them) are killed and it is deleted at the
 * next start. The shared {@code veracache-stack} directory goes when its last stack does ({@link #deleteStack}), so a
 * run leaves nothing behind; a stack being created meanwhile by another JVM creates it again ({@link #create}).
 */
final class StackDirectories {

  private static final Logger log = LoggerFactory.getLogger(StackDirectories.class);

  private StackDirectories() {}

  static Path root() {
    return Paths.get(System.getProperty("java.io.tmpdir"), "veracache-stack");
  }

  /** A new private directory for this JVM. */
  static Path create() {
    Path dir = root().resolve(ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8));
    for (int attempt = 1; ; attempt++) {
      try {
        return Files.createDirectories(dir);
      } catch (java.nio.file.NoSuchFileException e) {
        // Another JVM's last stack removed the empty shared directory between our check of it and our mkdir.
        if (attempt == 3) {
          throw new UncheckedIOException("cannot create the embedded stack directory " + dir, e);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the embedded stack directory " + dir, e);
      }
    }
  }

  /** Deletes a stack's own directory, and the shared one above it if no other stack is left in it. */
  static void deleteStack(Path dir) {
    delete(dir);
    Path root = dir.getParent();
    try {
      Files.deleteIfExists(root);
    } catch (java.nio.file.DirectoryNotEmptyException e) {
      // another stack (this JVM's or another's) still lives there: it stays
    } catch (IOException e) {
      log.debug("could not remove {}: {}", root, e.getMessage());
    }
  }

  /** Kills servers left by dead JVMs and deletes their directories. Returns how many directories were removed. */
  static int cleanStale() {
    return cleanStale(root());
  }

  /** {@link #cleanStale()} under another root (a JVM started with its own {@code java.io.tmpdir}). */
  static int cleanStale(Path root) {
    if (!Files.isDirectory(root)) {
      return 0;
    }
    int removed = 0;
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path dir : dirs.toList()) {
        Optional<Long> owner = ownerPid(dir);
        if (owner.isEmpty() || ProcessControl.alive(owner.get())) {
          continue;
        }
        killRecordedServer(dir.resolve("mariadb").resolve(EmbeddedMariaDbServer.PID_FILE), "mariadbd", null);
        Path redis = dir.resolve("redis");
        killRecordedServer(redis.resolve(EmbeddedRedisServer.PID_FILE), "redis-server",
            recordedBinary(redis.resolve(EmbeddedRedisServer.BINARY_FILE)));
        killRecordedServer(dir.resolve("kafka").resolve(EmbeddedKafkaServer.PID_FILE), EmbeddedKafkaServer.MAIN_CLASS,
            null);
        for (int node = 0; Files.isDirectory(dir.resolve("redis-cluster").resolve("node-" + node)); node++) {
          Path clusterNode = dir.resolve("redis-cluster").resolve("node-" + node);
          killRecordedServer(clusterNode.resolve(EmbeddedRedisServer.PID_FILE), "redis-server",
              recordedBinary(clusterNode.resolve(EmbeddedRedisServer.BINARY_FILE)));
        }
        for (int worker = 0; Files.isDirectory(dir.resolve("connect-" + worker)); worker++) {
          killRecordedServer(dir.resolve("connect-" + worker).resolve(EmbeddedKafkaConnect.PID_FILE),
              EmbeddedKafkaConnect.MAIN_CLASS, null);
        }
        delete(dir);
        removed++;
        log.info("removed stale embedded stack directory {} (its JVM {} is gone)", dir, owner.get());
      }
    } catch (IOException e) {
      log.warn("could not scan {} for stale stacks: {}", root, e.getMessage());
    }
    return removed;
  }

  private static Optional<Long> ownerPid(Path dir) {
    String name = dir.getFileName().toString();
    int dash = name.indexOf('-');
    try {
      return dash > 0 ? Optional.of(Long.parseLong(name.substring(0, dash))) : Optional.empty();
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** The real path of the binary a server directory recorded, or null (none recorded, or unreadable). */
  private static String recordedBinary(Path file) {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try {
      String path = Files.readString(file).trim();
      return path.isEmpty() ? null : path;
    } catch (IOException e) {
      log.warn("unreadable binary record {}: {}", file, e.getMessage());
      return null;
    }
  }

  /**
   * Kills the process recorded in {@code pidFile} if it still is that server: its executable is {@code binary} (the
   * real path recorded at start; the process title need not name it: Debian's redis-server runs as redis-check-rdb),
   * or its command line contains {@code expectedCommand}.
   */
  private static void killRecordedServer(Path pidFile, String expectedCommand, String binary) {
    if (!Files.isRegularFile(pidFile)) {
      return;
    }
    try {
      long pid = Long.parseLong(Files.readString(pidFile).trim());
      // pids are reused: only kill a process that still is that server.
      boolean same = binary != null && ProcessControl.executable(pid).map(e -> e.equals(binary)
              || e.equals(binary + " (deleted)")).orElse(false)
          || ProcessControl.commandLine(pid).map(c -> c.contains(expectedCommand)).orElse(false);
      if (same && ProcessControl.alive(pid)) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        log.warn("killed orphan {} (pid {}) left by a dead JVM", expectedCommand, pid);
      }
    } catch (IOException | NumberFormatException e) {
      log.warn("unreadable pid file {}: {}", pidFile, e.getMessage());
    }
  }

  static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      log.warn("could not delete {}: {}", dir, e.getMessage());
    }
  }

  /**
   * Server ports are drawn from here, below Linux's ephemeral range (32768-60999 by default): a port the kernel gives
   * out for bind(0) is also one it gives to outgoing connections, so between choosing it and the server binding it (or
   * while a server restarts on it) a client connection of another test JVM could take it ("Address already in use").
   */
  static final int FIRST_SERVER_PORT = 10_000;
  static final int SERVER_PORTS = 12_000;
  /** A Redis Cluster node's bus listens on its port plus this (Redis's default, {@code cluster-port} unset). */
  static final int CLUSTER_BUS_OFFSET = 10_000;

  /** A port free right now on 127.0.0.1, drawn from {@link #FIRST_SERVER_PORT} on. */
  static int freePort() {
    return freePort(0);
  }

  /**
   * A port free right now on 127.0.0.1 whose bus port ({@link #CLUSTER_BUS_OFFSET} above) is free too, both below the
   * ephemeral range.
   */
  static int freeClusterNodePort() {
    return freePort(CLUSTER_BUS_OFFSET);
  }

  private static int freePort(int alsoFreeAbove) {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = FIRST_SERVER_PORT + random.nextInt(SERVER_PORTS);
      if (bindable(port) && (alsoFreeAbove == 0 || bindable(port + alsoFreeAbove))) {
        return port;
      }
    }
    throw new UncheckedIOException(new IOException("no free port in " + FIRST_SERVER_PORT + ".."
        + (FIRST_SERVER_PORT + SERVER_PORTS) + " after 200 attempts"));
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  static List<Path> list() throws IOException {
    if (!Files.isDirectory(root())) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(root())) {
      return dirs.toList();
    }
  }
}
