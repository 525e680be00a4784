package dev.veracache.chaos.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.HandMadeRuns;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report as a reader sees it: the page of the hand-made runs ({@link HandMadeRuns}) rendered by headless Chromium,
 * and the screenshot must show the red of a bad cell, the green of a good one and the grey of a figure that could not
 * be judged, each as a cell's area (not a stray pixel). Fails, never skips, when Chromium is missing (see
 * {@link HeadlessChromium}); the screenshot is kept in {@code target/html-report-screenshot.png} to look at.
 */
class HtmlReportScreenshotIT {

  private static final int WIDTH = 1400;
  private static final int HEIGHT = 1600;
  /** A table cell is tens of pixels by hundreds: a colour seen this often is a cell, not antialiasing. */
  private static final int CELL_PIXELS = 400;

  @TempDir
  Path dir;

  @Test
  void chromiumShowsTheRedOfABadCellTheGreenOfAGoodOneAndTheGreyOfAnUnjudgeableOne() throws Exception {
    String html = HtmlReport.render("Veracache chaos report", "hand-made runs", HandMadeRuns.all());
    Path page = dir.resolve("chaos-report.html");
    Files.writeString(page, html);
    Path png = Path.of("target", "html-report-screenshot.png");
    Files.createDirectories(png.getParent());
    Files.deleteIfExists(png);

    HeadlessChromium.screenshot(page, png, WIDTH, HEIGHT);

    BufferedImage image = ImageIO.read(png.toFile());
    assertThat(image).as("a PNG Java can read").isNotNull();
    assertThat(image.getWidth()).isEqualTo(WIDTH);
    assertThat(image.getHeight()).isEqualTo(HEIGHT);
    assertThat(pixelsOf(image, HtmlReport.BAD_BACKGROUND)).as("red of a bad cell").isGreaterThan(CELL_PIXELS);
    assertThat(pixelsOf(image, HtmlReport.GOOD_BACKGROUND)).as("green of a good cell").isGreaterThan(CELL_PIXELS);
    assertThat(pixelsOf(image, HtmlReport.UNJUDGEABLE_BACKGROUND)).as("grey of an n/a cell")
        .isGreaterThan(CELL_PIXELS);
    assertThat(pixelsOf(image, HtmlReport.FAULT_SHADE)).as("the shaded fault window of a chart")
        .isGreaterThan(CELL_PIXELS);
  }

  /** Pixels within 3 of the colour on each channel (Chromium draws flat CSS colours exactly, give or take rounding). */
  private static int pixelsOf(BufferedImage image, int rgb) {
    int n = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int p = image.getRGB(x, y);
        if (close(p >> 16, rgb >> 16) && close(p >> 8, rgb >> 8) && close(p, rgb)) {
          n++;
        }
      }
    }
    return n;
  }

  private static boolean close(int a, int b) {
    return Math.abs((a & 0xff) - (b & 0xff)) <= 3;
  }
}
