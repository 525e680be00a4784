package dev.veracache.chaos.report;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Renders a local HTML file to a PNG with Debian's {@code chromium} in headless mode, for the report's screenshot test.
 * The binary is {@code -Dchromium.binary=...} when given, else the first of {@code chromium} and
 * {@code chromium-browser} on the PATH. When none is found, {@link #screenshot} fails (never skips) saying how to
 * install it: CI's {@code .ci/run} installs the package. The process gets a fresh profile directory of its own (several
 * builds may run Chromium at once), and a bounded wait: it is killed, and the call fails with its output, after
 * {@link #TIMEOUT_SECONDS}.
 */
final class HeadlessChromium {

  static final long TIMEOUT_SECONDS = 90;
  private static final List<String> NAMES = List.of("chromium", "chromium-browser");

  private HeadlessChromium() {}

  /** Renders {@code html} in a window of {@code width} x {@code height} CSS pixels into {@code png}. */
  static void screenshot(Path html, Path png, int width, int height) throws IOException, InterruptedException {
    Path binary = binary();
    Path profile = Files.createTempDirectory("chromium-profile");
    Path output = Files.createTempFile("chromium", ".log");
    try {
      Process process = new ProcessBuilder(binary.toString(), "--headless", "--disable-gpu", "--no-sandbox",
          "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
          "--user-data-dir=" + profile, "--screenshot=" + png.toAbsolutePath(),
          "--window-size=" + width + "," + height, html.toUri().toString())
          .redirectErrorStream(true).redirectOutput(output.toFile()).start();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(binary + " did not finish the screenshot within " + TIMEOUT_SECONDS
            + " s; its output:\n" + Files.readString(output, StandardCharsets.UTF_8));
      }
      if (process.exitValue() != 0 || !Files.isRegularFile(png)) {
        throw new AssertionError(binary + " exited " + process.exitValue() + " without writing " + png
            + "; its output:\n" + Files.readString(output, StandardCharsets.UTF_8));
      }
    } finally {
      deleteTree(profile);
      Files.deleteIfExists(output);
    }
  }

  static Path binary() {
    String configured = System.getProperty("chromium.binary");
    if (configured != null && !configured.isBlank()) {
      Path path = Path.of(configured);
      if (!Files.isExecutable(path)) {
        throw new AssertionError("-Dchromium.binary=" + configured + " is not an executable file");
      }
      return path;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      for (String name : NAMES) {
        Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new AssertionError("headless Chromium is needed to check the HTML report, and neither 'chromium' nor "
        + "'chromium-browser' is on the PATH: install Debian's package with 'sudo apt-get install -y chromium' (CI's "
        + ".ci/run does), or point -Dchromium.binary at a Chromium binary");
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (var paths = Files.walk(root)) {
      for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      // Chromium may still be removing its own files; a leftover temp directory is not a test failure.
    }
  }
}
