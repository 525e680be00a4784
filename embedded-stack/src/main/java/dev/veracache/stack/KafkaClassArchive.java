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
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A class-data-sharing archive (JDK dynamic CDS) of the classes the Kafka broker's JVM loads, shared by every broker
 * started on the same JDK, JVM options and class path: with it a broker starts in about 2 s instead of 4-6 s on 2
 * cores (measured), since class loading and verification are most of the start. The first broker without an archive
 * writes one when it exits cleanly ({@code -XX:ArchiveClassesAtExit}, about 5 s more on that stop, 50 MB); later ones
 * map it ({@code -XX:SharedArchiveFile}). A JVM that cannot use an archive says so in {@code kafka.log} and starts as
 * without one, so the archive only ever changes the start time.
 *
 * <p>Invariants:
 * <ul>
 *   <li>An archive is used only under the key it was written for: a hash of {@code java.home}, the JVM version, the
 *       JVM options and the class path with each jar's size and modification time. Another class path (another
 *       module, a rebuilt jar) has another file in {@link #directory()}.</li>
 *   <li>At most {@link #KEPT} archives are kept, the most recently used (mapped or written).</li>
 *   <li>A finished archive appears atomically: the broker JVM writes a temporary file named after this JVM's pid, and
 *       it is moved into place only after that broker exited by itself (a clean stop). A broker killed (or stopped by
 *       force) while writing leaves a temporary file, deleted at once, or by the next JVM once this one is gone.</li>
 * </ul>
 */
final class KafkaClassArchive {

  private static final Logger log = LoggerFactory.getLogger(KafkaClassArchive.class);
  private static final String TEMPORARY_SUFFIX = ".tmp.jsa";
  /**
   * Archives kept: the most recently used ones. A project's own jars are on a test class path and change with each
   * build, so each build of a module may write a new archive; without a limit they would pile up (50 MB each).
   */
  static final int KEPT = 4;

  private final Path directory;
  private final Path archive;
  /** The file the running broker writes at exit, or null when it maps {@link #archive} (or neither). */
  private Path writing;

  KafkaClassArchive(Path directory, String classPath, List<String> jvmOptions) {
    this.directory = directory;
    this.archive = directory.resolve("kafka-" + key(classPath, jvmOptions) + ".jsa");
  }

  /** {@code ${java.io.tmpdir}/veracache-kafka-cds}: outside the stack directories, which a stack deletes. */
  static Path directory() {
    return Paths.get(System.getProperty("java.io.tmpdir"), "veracache-kafka-cds");
  }

  /** The archive for child JVMs on this JDK and class path with these options, in {@link #directory()}. */
  static KafkaClassArchive of(String classPath, List<String> jvmOptions) {
    return new KafkaClassArchive(directory(), classPath, jvmOptions);
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
   * The JVM option for a broker start: map the archive if it exists, else write one at exit (only the first start of a
   * server, so that a restarted broker does not write again).
   */
  synchronized List<String> optionsForBroker() {
    if (Files.isRegularFile(archive)) {
      markUsed();
      return List.of("-XX:SharedArchiveFile=" + archive);
    }
    try {
      Files.createDirectories(directory);
      deleteOrphanedTemporaryFiles();
    } catch (IOException e) {
      log.warn("no class-data archive for the Kafka broker (cannot create {}): {}", directory, e.getMessage());
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

  /** Whether the running broker writes the archive at exit (its stop then takes a few seconds more). */
  synchronized boolean writing() {
    return writing != null;
  }

  /**
   * After the broker exited: publishes the archive it wrote if it exited by itself ({@code clean}), else deletes the
   * partial file.
   */
  synchronized void brokerExited(boolean clean) {
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
        log.info("class-data archive for the Kafka broker written: {} ({} MB)", archive, Files.size(archive) >> 20);
        deleteLeastRecentlyUsed();
      } else {
        Files.deleteIfExists(written);
      }
    } catch (IOException e) {
      log.warn("cannot publish the Kafka broker's class-data archive {}: {}", written, e.getMessage());
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

  /** Keeps the {@link #KEPT} most recently used archives (a broker that maps a deleted one keeps its mapping). */
  private void deleteLeastRecentlyUsed() throws IOException {
    List<Path> archives;
    try (Stream<Path> files = Files.list(directory)) {
      archives = files.filter(f -> f.getFileName().toString().startsWith("kafka-")
          && f.getFileName().toString().endsWith(".jsa") && !f.getFileName().toString().endsWith(TEMPORARY_SUFFIX))
          .sorted(Comparator.comparing(KafkaClassArchive::lastUsed).reversed()).toList();
    }
    for (Path old : archives.subList(Math.min(KEPT, archives.size()), archives.size())) {
      Files.deleteIfExists(old);
      log.info("deleted the least recently used Kafka class-data archive {}", old);
    }
  }

  private static FileTime lastUsed(Path file) {
    try {
      return Files.getLastModifiedTime(file);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  /** Temporary files whose writer's JVM (the pid in the name) is gone: a broker killed while writing. */
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

  Path file() {
    return archive;
  }
}
