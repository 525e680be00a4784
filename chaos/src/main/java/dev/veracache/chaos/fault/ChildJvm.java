package dev.veracache.chaos.fault;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the fault injectors that run a JVM of their own ({@link CdcInvalidatorProcess}, {@link WriteBehindProcess}) share:
 * the command that starts a child on this JVM's java with this JVM's classpath, and a bounded tail of the child's
 * output for error messages.
 */
final class ChildJvm {

  private static final Logger log = LoggerFactory.getLogger(ChildJvm.class);

  private ChildJvm() {}

  /** This JVM's java binary, then {@code jvmOptions}, then {@code -cp} and the classpath of {@link #classPath()}. */
  static List<String> javaCommand(List<String> jvmOptions) {
    return javaCommand(jvmOptions, classPath());
  }

  /** This JVM's java binary, then {@code jvmOptions}, then {@code -cp classPath}. */
  static List<String> javaCommand(List<String> jvmOptions, String classPath) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(classPath);
    return command;
  }

  static String classPath() {
    return classPath(ChildJvm.class.getClassLoader(), Thread.currentThread().getContextClassLoader(),
        System.getProperty("java.class.path"));
  }

  /**
   * The child's class path: the URLs of the first {@link URLClassLoader} among {@code own} and {@code context} (under
   * {@code mvn exec:java} {@code java.class.path} is Maven's launcher, not the project), else {@code fallback} (under
   * Surefire or plain java the application loader is no URLClassLoader and java.class.path is right).
   */
  static String classPath(ClassLoader own, ClassLoader context, String fallback) {
    for (ClassLoader loader : Stream.of(own, context).filter(Objects::nonNull).toList()) {
      if (loader instanceof URLClassLoader urls) {
        List<String> entries = new ArrayList<>();
        for (URL url : urls.getURLs()) {
          if ("file".equals(url.getProtocol())) {
            try {
              entries.add(Path.of(url.toURI()).toString());
            } catch (URISyntaxException | IllegalArgumentException e) {
              log.debug("class path entry {} skipped: {}", url, e.toString());
            }
          }
        }
        if (!entries.isEmpty()) {
          return String.join(File.pathSeparator, entries);
        }
      }
    }
    return fallback;
  }

  /** The last lines a child printed, at most {@code capacity}; thread-safe. */
  static final class OutputTail {
    private final int capacity;
    private final Deque<String> lines = new ArrayDeque<>();

    OutputTail(int capacity) {
      this.capacity = capacity;
    }

    void add(String line) {
      synchronized (lines) {
        if (lines.size() == capacity) {
          lines.removeFirst();
        }
        lines.addLast(line);
      }
    }

    List<String> lines() {
      synchronized (lines) {
        return List.copyOf(lines);
      }
    }
  }
}
