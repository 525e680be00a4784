package dev.veracache.demo;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.Function;
import java.util.stream.Stream;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven through Selenium and Debian's chromedriver, for the demo page's browser test.
 * Both binaries are found at their Debian paths ({@code /usr/bin/chromium}, {@code /usr/bin/chromedriver}) or given
 * by {@code -Dchromium.binary} / {@code -Dchromedriver.binary}; when one is missing the test fails (never skips)
 * naming the package to install, as CI's {@code .ci/run} does. Selenium Manager is never asked to download anything:
 * both paths are given. The browser gets a fresh profile directory of its own and the flags that keep it off the
 * network (this machine has none), and {@link #close} quits it and deletes the profile.
 */
final class HeadlessBrowser implements AutoCloseable {

  /** How long a wait for the page may take before the test fails with what the page showed: a hang guard only. */
  static final Duration WAIT = Duration.ofSeconds(90);

  private final WebDriver driver;
  private final Path profile;

  private HeadlessBrowser(WebDriver driver, Path profile) {
    this.driver = driver;
    this.profile = profile;
  }

  static HeadlessBrowser start(int width, int height) throws IOException {
    Path chromium = binary("chromium.binary", "/usr/bin/chromium");
    Path chromedriver = binary("chromedriver.binary", "/usr/bin/chromedriver");
    Path profile = Files.createTempDirectory("demo-chromium-profile");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
        "--window-size=" + width + "," + height, "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(chromedriver.toFile()).usingAnyFreePort().build();
    return new HeadlessBrowser(new ChromeDriver(service, options), profile);
  }

  void open(String url) {
    driver.get(url);
  }

  void click(String id) {
    driver.findElement(By.id(id)).click();
  }

  String text(String id) {
    return driver.findElement(By.id(id)).getText().trim();
  }

  boolean exists(String id) {
    return !driver.findElements(By.id(id)).isEmpty();
  }

  /** The attribute of the first element with this tag name, or {@code absent} when it has none. */
  String attribute(String tagName, String attribute, String absent) {
    String value = driver.findElement(By.tagName(tagName)).getAttribute(attribute);
    return value == null ? absent : value;
  }

  /** The whole number shown in the element of class {@code cssClass} inside the element {@code id}; 0 for "–". */
  long number(String id, String cssClass) {
    String shown = driver.findElement(By.id(id)).findElement(By.className(cssClass)).getText().trim();
    return shown.matches("\\d+") ? Long.parseLong(shown) : 0;
  }

  /** Waits until {@code condition} holds, failing after {@link #WAIT} with {@code what} and the page's text. */
  void waitUntil(String what, Function<HeadlessBrowser, Boolean> condition) {
    try {
      new WebDriverWait(driver, WAIT, Duration.ofMillis(200)).until(d -> condition.apply(this));
    } catch (org.openqa.selenium.TimeoutException e) {
      throw new AssertionError("the page never showed " + what + " within " + WAIT.toSeconds() + " s; it showed:\n"
          + driver.findElement(By.tagName("body")).getText(), e);
    }
  }

  /** Saves what the browser shows now as a PNG. */
  void screenshot(Path png) throws IOException {
    Files.createDirectories(png.toAbsolutePath().getParent());
    File shot = ((ChromeDriver) driver).getScreenshotAs(OutputType.FILE);
    Files.copy(shot.toPath(), png, StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void close() throws IOException {
    try {
      driver.quit();
    } finally {
      try (Stream<Path> paths = Files.walk(profile)) {
        for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
      } catch (IOException e) {
        // Chromium may still be removing its own files: a leftover temporary directory is not a failure.
      }
    }
  }

  private static Path binary(String property, String debianPath) {
    String configured = System.getProperty(property);
    Path path = Path.of(configured == null || configured.isBlank() ? debianPath : configured);
    if (!Files.isExecutable(path)) {
      throw new AssertionError("the demo page's browser test needs " + path + ", which is not there: install "
          + "Debian's packages with 'sudo apt-get install -y chromium chromium-driver' (CI's .ci/run does), or "
          + "point -D" + property + " at the binary");
    }
    return path;
  }
}
