package dev.veracache.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker's shared class-data archive: written once, published only after a clean exit, keyed by the jars; and the
 * broker's class path, the same jars in every module.
 */
class ClassDataArchiveTest {

  private static final List<String> OPTIONS = List.of("-Xmx384m");

  @Test
  void anArchiveWrittenByACleanExitIsPublishedAndThenMapped(@TempDir Path dir) throws Exception {
    Path jar = Files.writeString(dir.resolve("kafka.jar"), "jar");
    ClassDataArchive archive = new ClassDataArchive(dir.resolve("cds"), jar.toString(), OPTIONS);

    Path written = writtenAt(archive.optionsForStart());
    assertThat(archive.writing()).isTrue();
    assertThat(archive.optionsForTool()).as("a tool never writes one").isEmpty();
    Files.writeString(written, "archive"); // what the broker JVM does at exit
    archive.exited(true);

    assertThat(archive.file()).hasContent("archive");
    assertThat(written).doesNotExist();
    assertThat(archive.writing()).isFalse();
    assertThat(archive.optionsForStart()).containsExactly("-XX:SharedArchiveFile=" + archive.file());
    assertThat(new ClassDataArchive(dir.resolve("cds"), jar.toString(), OPTIONS).optionsForTool())
        .as("another server on the same jars maps it too").containsExactly("-XX:SharedArchiveFile=" + archive.file());
  }

  @Test
  void aBrokerKilledWhileWritingLeavesNoArchive(@TempDir Path dir) throws Exception {
    Path jar = Files.writeString(dir.resolve("kafka.jar"), "jar");
    ClassDataArchive archive = new ClassDataArchive(dir.resolve("cds"), jar.toString(), OPTIONS);
    Path written = writtenAt(archive.optionsForStart());
    Files.writeString(written, "half an arch");
    archive.exited(false);

    assertThat(written).doesNotExist();
    assertThat(archive.file()).doesNotExist();
    assertThat(writtenAt(archive.optionsForStart())).as("the next start tries again").isNotEqualTo(written);
  }

  @Test
  void aTemporaryFileOfAGoneJvmIsDeletedAndOneOfALiveJvmKept(@TempDir Path dir) throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path cds = Files.createDirectories(dir.resolve("cds"));
    Path orphan = Files.writeString(cds.resolve("kafka-x.jsa." + gone.pid() + "-ab12cd34.tmp.jsa"), "partial");
    Path live = Files.writeString(cds.resolve("kafka-y.jsa." + ProcessHandle.current().pid() + "-ab12cd34.tmp.jsa"),
        "being written");

    new ClassDataArchive(cds, Files.writeString(dir.resolve("a.jar"), "jar").toString(), OPTIONS).optionsForStart();

    assertThat(orphan).doesNotExist();
    assertThat(live).exists();
  }

  @Test
  void aChangedJarOrOtherOptionsMeanAnotherArchive(@TempDir Path dir) throws Exception {
    Path jar = Files.writeString(dir.resolve("kafka.jar"), "jar");
    Path before = new ClassDataArchive(dir, jar.toString(), OPTIONS).file();
    assertThat(new ClassDataArchive(dir, jar.toString(), OPTIONS).file()).isEqualTo(before);
    assertThat(new ClassDataArchive(dir, jar.toString(), List.of("-Xmx1g")).file()).isNotEqualTo(before);
    Files.writeString(jar, "a rebuilt jar");
    assertThat(new ClassDataArchive(dir, jar.toString(), OPTIONS).file()).isNotEqualTo(before);
  }

  @Test
  void onlyTheMostRecentlyUsedArchivesAreKept(@TempDir Path dir) throws Exception {
    Path cds = dir.resolve("cds");
    List<ClassDataArchive> archives = new java.util.ArrayList<>();
    for (int i = 0; i < ClassDataArchive.KEPT; i++) {
      // one per build of a module whose own jar changed
      ClassDataArchive archive = new ClassDataArchive(cds,
          Files.writeString(dir.resolve("build" + i + ".jar"), "jar").toString(), OPTIONS);
      Files.writeString(writtenAt(archive.optionsForStart()), "archive " + i);
      archive.exited(true);
      Files.setLastModifiedTime(archive.file(), java.nio.file.attribute.FileTime.fromMillis(1_000_000L * (i + 1)));
      archives.add(archive);
    }
    archives.get(0).optionsForStart(); // the oldest is used again: it is now the most recent
    ClassDataArchive newest = new ClassDataArchive(cds, Files.writeString(dir.resolve("new.jar"), "jar").toString(),
        OPTIONS);
    Files.writeString(writtenAt(newest.optionsForStart()), "newest");
    newest.exited(true);

    assertThat(newest.file()).exists();
    assertThat(archives.get(0).file()).as("used most recently before the newest").exists();
    assertThat(archives.get(1).file()).as("the least recently used").doesNotExist();
    try (var files = Files.list(cds)) {
      assertThat(files.count()).isEqualTo(ClassDataArchive.KEPT);
    }
  }

  @Test
  void everyModulesBrokerRunsOnTheListedJarsInTheListsOrderSoAllMapOneArchive(@TempDir Path dir) throws Exception {
    Path repo = Files.createDirectories(dir.resolve("m2"));
    Path kafka = Files.writeString(repo.resolve("kafka_2.13-4.2.1.jar"), "kafka");
    Path scala = Files.writeString(repo.resolve("scala-library-2.13.16.jar"), "scala");
    Path logback = Files.writeString(repo.resolve("logback-classic-1.5.38.jar"), "logback");
    Path junit = Files.writeString(repo.resolve("junit-jupiter-api-5.12.2.jar"), "junit");
    Path ownJar = Files.writeString(repo.resolve("veracache-cache-patterns-0.1.0-SNAPSHOT.jar"), "rebuilt each build");
    List<EmbeddedKafkaServer.BrokerJar> listed = List.of(
        EmbeddedKafkaServer.BrokerJar.parse("   org.apache.kafka:kafka_2.13:jar:4.2.1:compile -- module kafka [auto]"),
        EmbeddedKafkaServer.BrokerJar.parse("   org.scala-lang:scala-library:jar:2.13.16:compile"),
        new EmbeddedKafkaServer.BrokerJar("logback-classic", "", ""));
    String thisModule = EmbeddedKafkaServer.brokerClassPath(listed,
        List.of(junit.toString(), scala.toString(), kafka.toString(), logback.toString()));
    String anotherModule = EmbeddedKafkaServer.brokerClassPath(listed,
        List.of(ownJar.toString(), logback.toString(), kafka.toString(), scala.toString()));

    assertThat(thisModule).isEqualTo(String.join(java.io.File.pathSeparator, kafka.toString(), scala.toString(),
        logback.toString()));
    assertThat(anotherModule).as("other test jars, another order, its own jar: the same jars").isEqualTo(thisModule);
    assertThat(ClassDataArchive.of(anotherModule, OPTIONS).file()).isEqualTo(ClassDataArchive.of(thisModule, OPTIONS)
        .file());

    Path otherScala = Files.writeString(repo.resolve("scala-library-2.13.17.jar"), "scala, mediated elsewhere");
    assertThat(EmbeddedKafkaServer.brokerClassPath(listed, List.of(kafka.toString(), otherScala.toString())))
        .as("another version of a listed artifact is the one the broker gets; an absent one is left out")
        .isEqualTo(kafka + java.io.File.pathSeparator + otherScala);
    assertThat(EmbeddedKafkaServer.BrokerJar.parse("The following files have been resolved:")).isNull();
    assertThat(EmbeddedKafkaServer.BrokerJar.parse("   io.netty:netty-transport-native-epoll:jar:linux-x86_64:4.1.1:"
        + "runtime").fileName()).isEqualTo("netty-transport-native-epoll-4.1.1-linux-x86_64.jar");
  }

  @Test
  void theBuiltListGivesTheBrokerKafkaAndLeavesTheTestJarsOut() {
    String classPath = EmbeddedKafkaServer.brokerClassPath();

    assertThat(classPath).contains("kafka_2.13-").contains("kafka-clients-").contains("logback-classic-")
        .doesNotContain("junit").doesNotContain("assertj").doesNotContain("veracache-");
  }

  @Test
  void aChildsClassPathHasItsJarsFirstAndEachKindItsOwnArchives(@TempDir Path dir) throws Exception {
    Path classes = Files.createDirectories(dir.resolve("target/classes"));
    Path testClasses = Files.createDirectories(dir.resolve("target/test-classes"));
    Path a = Files.writeString(dir.resolve("a.jar"), "a");
    Path b = Files.writeString(dir.resolve("b.jar"), "b");
    String sep = java.io.File.pathSeparator;

    assertThat(ClassDataArchive.jarsFirst(String.join(sep, testClasses.toString(), classes.toString(), a.toString(),
        b.toString()))).as("JDK 17 archives nothing when a non-empty directory precedes a jar it archives from")
        .isEqualTo(String.join(sep, a.toString(), b.toString(), testClasses.toString(), classes.toString()));
    assertThat(new ClassDataArchive(dir, "listener", a.toString(), OPTIONS).file().getFileName().toString())
        .startsWith("listener-").endsWith(".jsa");
    assertThat(new ClassDataArchive(dir, "listener", a.toString(), OPTIONS).file())
        .isNotEqualTo(new ClassDataArchive(dir, "kafka", a.toString(), OPTIONS).file());
    assertThatThrownBy(() -> new ClassDataArchive(dir, "bad/name", a.toString(), OPTIONS))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad/name");
  }

  private static Path writtenAt(List<String> options) {
    assertThat(options).hasSize(1);
    assertThat(options.get(0)).startsWith("-XX:ArchiveClassesAtExit=");
    return Path.of(options.get(0).substring("-XX:ArchiveClassesAtExit=".length()));
  }
}
