package dev.veracache.stack;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A class-data-sharing archive (JDK dynamic CDS) of the classes a child JVM loads, shared by every child of the same
 * kind started on the same JDK, JVM options and class path. Class loading and verification are most of a start: the
 * Kafka broker starts in about 2 s with it instead of 4-6 s on 2 cores (measured), the chaos module's CDC listener
 * JVM ({@code dev.veracache.chaos.fault.CdcInvalidatorProcess}) likewise. The first child without an archive writes one
 * when it exits by itself ({@code -XX:ArchiveClassesAtExit}, a few seconds more on that stop, tens of MB); later ones
 * map it ({@code -XX:SharedArchiveFile}). A JVM that cannot use an archive says so in its output and starts as without
 * one, so the archive only ever changes the start time. JDK 17 refuses to write an archive when a non-empty directory
 * comes on the class path before a jar it archives from: a child's class path has its jars first (see
 * {@link #jarsFirst}).
 *
 * <p>Invariants:
 * <ul>
 *   <li>An archive is used only under the key it was written for: a hash of {@code java.home}, the JVM version, the
 *       JVM options and the class path with each jar's size and modification time. Another class path (another
 *       module, a rebuilt jar) has another file in the directory; each kind ({@code name}) has its own files.</li>
 *   <li>At most {@link #KEPT} archives of a kind are kept, the most recently used (mapped or written).</li>
 *   <li>A finished archive appears atomically: the child JVM writes a temporary file named after this JVM's pid, and
 *       it is moved into place only after that child exited by itself (a clean stop). A child killed (or stopped by
 *       force) while writing leaves a temporary file, deleted at once, or by the next JVM once this one is gone.</li>
 *   <li>One instance serves one child at a time ({@link #optionsForStart()} then {@link #exited(boolean)}); children
 *       started at the same time each use their own instance (the last clean writer's archive wins).</li>
 * </ul>
 */
public final class ClassDataArchive {

  private static final Logger log = LoggerFactory.getLogger(ClassDataArchive.class);
  private static final String TEMPORARY_SUFFIX = ".tmp.jsa";
  /**
   * Archives kept per kind: the most recently used ones. A project's own jars are on a test class path and change
   * with each build, so each build of a module may write a new archive; without a limit they would pile up.
   */
  static final int KEPT = 4;

  private final Path directory;
  private final String name;
  private final Path archive;
  /** The file the running child writes at exit, or null when it maps {@link #archive} (or neither). */
  private Path writing;

  ClassDataArchive(Path directory, String classPath, List<String> jvmOptions) {
    this(directory, "kafka", classPath, jvmOptions);
  }

  /**
   * The archive of the children of kind {@code name} (a file name prefix: letters, digits, '-') on {@code classPath}
   * with {@code jvmOptions}, in {@code directory}.
   */
  public ClassDataArchive(Path directory, String name, String classPath, List<String> jvmOptions) {
    if (!name.matches("[A-Za-z0-9-]+")) {
      throw new IllegalArgumentException("class-data archive name must be letters, digits and '-', was '" + name
          + "'");
    }
    this.directory = directory;
    this.name = name;
    this.archive = directory.resolve(name + "-" + key(classPath, jvmOptions) + ".jsa");
  }

  /** {@code ${java.io.tmpdir}/veracache-kafka-cds}: outside the stack directories, which a stack deletes. */
  static Path directory() {
    return Paths.get(System.getProperty("java.io.tmpdir"), "veracache-kafka-cds");
  }

  /** The archive for Kafka broker JVMs on this JDK and class path with these options, in {@link #directory()}. */
  static ClassDataArchive of(String classPath, List<String> jvmOptions) {
    return new ClassDataArchive(directory(), classPath, jvmOptions);
  }

  /**
   * {@code classPath} with its jars first, in their order, then its other entries (directories) in theirs: JDK 17
   * writes no archive when a non-empty directory comes before a jar it archives classes from, and classes from a
   * directory are never archived. Only for a class path whose directories and jars hold no class or resource in
   * common (a module's {@code target/classes} and its dependencies), where the order changes nothing else.
   */
  public static String jarsFirst(String classPath) {
    List<String> jars = new ArrayList<>();
    List<String> others = new ArrayList<>();
    for (String entry : classPath.split(File.pathSeparator)) {
      if (entry.isEmpty()) {
        continue;
      }
      (entry.endsWith(".jar") && !Files.isDirectory(Paths.get(entry)) ? jars : others).add(entry);
    }
    jars.addAll(others);
    return String.join(File.pathSeparator, jars);
  }

  private static String key(String classPath, List<String> jvmOptions) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      StringBuilder what = new StringBuilder().append(System.getProperty("java.home")).append('\n')
          .append(System.getProperty("java.vm.version")).append('\n').append(jvmOptions).append('\n');
      for (String entry : classPath.split(File.pathSeparator)) {
        Path path = Paths.get(entry);
        what.append(entry);
        if (Files.isRegularFile(path)) {
          what.append(' ').append(Files.size(path)).append(' ').append(Files.getLastModifiedTime(path).toMillis());
        }
        what.append('\n');
      }
      return HexFormat.of().formatHex(sha.digest(what.toString().getBytes(StandardCharsets.UTF_8)), 0, 12);
    } catch (NoSuchAlgorithmException | IOException e) {
      return "unkeyed-" + UUID.randomUUID(); // never matches an archive: the broker writes one nobody else maps
    }
  }

  /**
   * The JVM option for a child's start: map the archive if it exists, else write one at exit (only the first start of
   * an instance, so that a restarted child does not write again).
   */
  public synchronized List<String> optionsForStart() {
    if (Files.isRegularFile(archive)) {
      markUsed();
      return List.of("-XX:SharedArchiveFile=" + archive);
    }
    try {
      Files.createDirectories(directory);
      deleteOrphanedTemporaryFiles();
    } catch (IOException e) {
      log.warn("no class-data archive for the {} JVM (cannot create {}): {}", name, directory, e.getMessage());
      return List.of();
    }
    writing = directory.resolve(archive.getFileName() + "." + ProcessHandle.current().pid() + "-"
        + UUID.randomUUID().toString().substring(0, 8) + TEMPORARY_SUFFIX);
    return List.of("-XX:ArchiveClassesAtExit=" + writing);
  }

  /** The option for a short-lived tool JVM (the format run): map the archive if there is one, never write one. */
  List<String> optionsForTool() {
    return Files.isRegularFile(archive) ? List.of("-XX:SharedArchiveFile=" + archive) : List.of();
  }

  /** Whether the running child writes the archive at exit (its stop then takes a few seconds more). */
  public synchronized boolean writing() {
    return writing != null;
  }

  /**
   * After the child exited: publishes the archive it wrote if it exited by itself ({@code clean}), else deletes the
   * partial file.
   */
  public synchronized void exited(boolean clean) {
    if (writing == null) {
      return;
    }
    Path written = writing;
    writing = null;
    try {
      if (clean && Files.isRegularFile(written) && Files.size(written) > 0) {
        try {
          Files.move(written, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.deleteIfExists(written);
          return;
        }
        log.info("class-data archive for the {} JVM written: {} ({} MB)", name, archive, Files.size(archive) >> 20);
        deleteLeastRecentlyUsed();
      } else {
        Files.deleteIfExists(written);
      }
    } catch (IOException e) {
      log.warn("cannot publish the {} JVM's class-data archive {}: {}", name, written, e.getMessage());
    }
  }

  /** The modification time says when an archive was last used (mapped or written), for {@link #KEPT}. */
  private void markUsed() {
    try {
      Files.setLastModifiedTime(archive, FileTime.fromMillis(System.currentTimeMillis()));
    } catch (IOException e) {
      // only the retention order suffers
    }
  }

  /** Keeps the {@link #KEPT} most recently used archives of this kind (a child mapping a deleted one keeps it). */
  private void deleteLeastRecentlyUsed() throws IOException {
    List<Path> archives;
    try (Stream<Path> files = Files.list(directory)) {
      archives = files.filter(f -> f.getFileName().toString().startsWith(name + "-")
          && f.getFileName().toString().endsWith(".jsa") && !f.getFileName().toString().endsWith(TEMPORARY_SUFFIX))
          .sorted(Comparator.comparing(ClassDataArchive::lastUsed).reversed()).toList();
    }
    for (Path old : archives.subList(Math.min(KEPT, archives.size()), archives.size())) {
      Files.deleteIfExists(old);
      log.info("deleted the least recently used {} class-data archive {}", name, old);
    }
  }

  private static FileTime lastUsed(Path file) {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  /** Temporary files whose writer's JVM (the pid in the name) is gone: a child killed while writing. */
  private void deleteOrphanedTemporaryFiles() throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.filter(f -> f.getFileName().toString().endsWith(TEMPORARY_SUFFIX)).toList()) {
        String name = file.getFileName().toString();
        String owner = name.substring(name.indexOf(".jsa.") + 5, name.lastIndexOf('-'));
        try {
          if (!ProcessControl.alive(Long.parseLong(owner))) {
            Files.deleteIfExists(file);
          }
        } catch (NumberFormatException e) {
          Files.deleteIfExists(file);
        }
      }
    }
  }

  public Path file() {
    return archive;
  }
}
