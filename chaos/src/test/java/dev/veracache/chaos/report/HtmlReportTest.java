package dev.veracache.chaos.report;

import static dev.veracache.chaos.HandMadeRuns.MS;
import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.HandMadeRuns;
import dev.veracache.chaos.check.Report;
import dev.veracache.chaos.scenario.Scenario.Strategy;
import dev.veracache.chaos.workload.History;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The HTML report tells the truth at a glance: every anomaly cell is coloured by what it means for that run's strategy
 * (a baseline's expected anomaly shown is good, missing is bad; any Veracache anomaly is bad; a figure that could not
 * be judged is grey, never green), each scenario starts with its strategies side by side, and each scenario has one
 * chart with a y-axis, the fault shaded, and one labelled series per strategy. The page is checked in Chromium by
 * {@code HtmlReportScreenshotIT}.
 */
class HtmlReportTest {

  private static final String HTML = HtmlReport.render("Veracache chaos report", "hand-made runs", HandMadeRuns.all());

  @Test
  void theChartShowsEachBucketOfTheStaleTimelineAndNamesAreEscaped() {
    String chart = HtmlReport.chart(new int[] {1, 0, 1});
    assertThat(chart).contains("<svg").contains("<title>100 ms: 0</title>").contains("<title>200 ms: 1</title>");
    assertThat(HtmlReport.escape("s <1>")).isEqualTo("s &lt;1&gt;");
  }

  @Test
  void aBaselineIsGreenWhereItShowedItsExpectedAnomalyAndRedWhereItMissedOne() {
    assertThat(cell("race", Strategy.NAIVE, "stale-reads")).isEqualTo(new Cell("good", "6"));
    assertThat(cell("race", Strategy.NAIVE, "stale-keys")).isEqualTo(new Cell("bad", "0"));
    assertThat(cell("race", Strategy.NAIVE, "stale-keys-note")).isEqualTo(new Cell("bad", "missing"));
    assertThat(cell("race", Strategy.NAIVE, "verdict").colour()).isEqualTo("bad");
  }

  @Test
  void aBaselineThatShowsOnlyItsStaleKeysIsNeverAGreenNoStaleRead() {
    assertThat(HTML).doesNotContain("no stale read");
    assertThat(cell("pause", Strategy.NAIVE_TWO_LEVEL, "stale-keys")).isEqualTo(new Cell("good", "20"));
    assertThat(cell("pause", Strategy.NAIVE_TWO_LEVEL, "stale-keys-note")).isEqualTo(new Cell("good", "expected"));
    assertThat(cell("pause", Strategy.NAIVE_TWO_LEVEL, "stale-reads").colour())
        .as("stale reads are not what this baseline is judged on: neither green nor red").isEqualTo("info");
    assertThat(cell("pause", Strategy.NAIVE_TWO_LEVEL, "availability").colour()).isEqualTo("info");
    assertThat(cell("pause", Strategy.NAIVE_TWO_LEVEL, "verdict").colour()).isEqualTo("good");
  }

  @Test
  void aVeracacheAnomalyIsRedAndItsCleanFiguresGreen() {
    assertThat(cell("race", Strategy.VERACACHE_WRITE_THROUGH, "stale-keys")).isEqualTo(new Cell("bad", "1"));
    assertThat(cell("race", Strategy.VERACACHE_WRITE_THROUGH, "stale-reads")).isEqualTo(new Cell("good", "0"));
    assertThat(cell("race", Strategy.VERACACHE_WRITE_THROUGH, "verdict").colour()).isEqualTo("bad");
    for (String measure : List.of("stale-reads", "stale-keys", "lost-writes", "availability", "cache-hits",
        "verdict")) {
      assertThat(cell("race", Strategy.VERACACHE_CACHE_ASIDE, measure).colour()).as(measure).isEqualTo("good");
    }
    assertThat(cell("race", Strategy.VERACACHE_CACHE_ASIDE, "availability").text()).isEqualTo("100.00");
  }

  @Test
  void aFigureThatCouldNotBeJudgedIsGreyNeverGreen() {
    Cell staleReads = cell("race", Strategy.VERACACHE_READ_THROUGH, "stale-reads");

    assertThat(staleReads.colour()).isEqualTo("na");
    assertThat(staleReads.text()).startsWith("n/a");
    assertThat(cell("race", Strategy.VERACACHE_READ_THROUGH, "verdict").colour()).isEqualTo("bad");
  }

  @Test
  void anAvailabilityOrCacheHitShareWithNoReadOutsideTheFaultIsGrey() {
    History history = HandMadeRuns.pausedRun(History.Level.L1);
    history.faultWindow(-1 * MS, 5000 * MS); // every read inside the fault (a start of 0 would mean "no fault")
    Run run = HandMadeRuns.run(HandMadeRuns.PAUSE, Strategy.VERACACHE_CACHE_ASIDE,
        HandMadeRuns.check(HandMadeRuns.PAUSE, history, 0, 0));
    String html = HtmlReport.render("t", "s", List.of(run));

    assertThat(cell(html, "pause", Strategy.VERACACHE_CACHE_ASIDE, "availability")).isEqualTo(new Cell("na", "n/a"));
    assertThat(cell(html, "pause", Strategy.VERACACHE_CACHE_ASIDE, "cache-hits")).isEqualTo(new Cell("na", "n/a"));
  }

  @Test
  void everyRunThatIsNotAsExpectedHasARedOrGreyFigureAndEveryCleanRunNone() {
    for (Run run : HandMadeRuns.all()) {
      List<String> colours = new ArrayList<>();
      for (String measure : List.of("stale-reads", "stale-keys", "lost-writes", "out-of-order", "peak-loads",
          "availability", "cache-hits", "fault-measures")) {
        colours.add(cell(run.scenario().id(), run.strategy(), measure).colour());
      }
      if (run.violations().isEmpty()) {
        assertThat(colours).as(run.strategy() + " in " + run.scenario().id()).doesNotContain("bad", "na");
      } else {
        assertThat(colours).as(run.strategy() + " in " + run.scenario().id()).containsAnyOf("bad", "na");
      }
    }
  }

  @Test
  void thePageStartsWithASummaryOfEachScenariosStrategiesSideBySideOnTheSameNumbers() {
    assertThat(HTML.indexOf("<table class=\"summary\"")).isPositive().isLessThan(HTML.indexOf("<svg"));
    assertThat(HTML.indexOf("id=\"summary-race-seed-42\"")).isLessThan(HTML.indexOf("id=\"summary-pause-seed-42\""))
        .isLessThan(HTML.indexOf("<svg"));
    assertThat(summaryOf(HTML, "pause")).contains("Redis is SIGSTOPped for the middle of the run. W = 700 ms.");
    assertThat(headers(HTML)).containsExactly("strategy", "stale reads beyond W", "keys stale after quiescence",
        "lost writes", "out-of-order writes", "peak concurrent loads of a key", "availability % outside the fault",
        "cache hits % outside the fault", "fault measures", "verdict");
    assertThat(rowStrategies(summaryOf(HTML, "race"))).containsExactly("NAIVE", "VERACACHE_CACHE_ASIDE",
        "VERACACHE_WRITE_THROUGH", "VERACACHE_READ_THROUGH");
    assertThat(HTML.indexOf("id=\"scenario-race-seed-42\"")).isLessThan(HTML.indexOf("id=\"scenario-pause-seed-42\""))
        .isLessThan(HTML.indexOf("<table class=\"all\""));
  }

  @Test
  void eachScenarioHasOneChartWithAYAxisTheFaultShadedAndOneLabelledSeriesPerStrategy() {
    String pause = section(HTML, "pause");

    assertThat(count(pause, "<svg")).isOne();
    assertThat(count(pause, "<polyline class=\"series\"")).isEqualTo(2);
    assertThat(pause).contains("<g class=\"legend\"").contains("naive L1 + Redis").contains("Veracache cache-aside");
    assertThat(pause).contains("<g class=\"y-axis\"").contains(">stale reads per 100 ms<");
    assertThat(count(pause, "class=\"y-tick\"")).isGreaterThanOrEqualTo(3);
    assertThat(pause).contains("<rect class=\"fault\"").contains("data-start-ms=\"1000\" data-end-ms=\"3000\"");
    String race = section(HTML, "race");
    assertThat(race).doesNotContain("<rect class=\"fault\"")
        .as("a race injection is active all the run long: nothing to shade");
    assertThat(count(race, "<polyline class=\"series\"")).as("no line for the run with nothing judgeable")
        .isEqualTo(3);
    assertThat(race).contains("Veracache read-through + CDC: n/a, no read judgeable (no line)");
  }

  @Test
  void theFaultWindowIsCarriedInMsFromTheFirstRead() {
    History history = HandMadeRuns.pausedRun(History.Level.L1);
    history.read("k", 1, -250 * MS, -249 * MS, 0, History.Level.L1); // the first read: origin at -250 ms

    assertThat(HandMadeRuns.check(HandMadeRuns.PAUSE, history, 0, 0).faultWindow())
        .isEqualTo(new Report.FaultWindow(1250, 3250));
    assertThat(HandMadeRuns.check(HandMadeRuns.RACE, HandMadeRuns.fresh(History.Level.L1), 0, 0).faultWindow())
        .isNull();
    history.faultWindow(1000 * MS, 0); // never healed: ends at the last read (4990 ms)
    assertThat(HandMadeRuns.check(HandMadeRuns.PAUSE, history, 0, 0).faultWindow())
        .isEqualTo(new Report.FaultWindow(1250, 5240));
  }

  @Test
  void thePageIsSelfContainedWithNoScriptAndNoExternalResource() {
    assertThat(HTML.toLowerCase(Locale.ROOT)).doesNotContain("<script", "src=", "url(", "@import", "<link", "<iframe",
        "<img", "<object", "<embed", "<image", "<use", "javascript:");
    assertThat(Pattern.compile("\\son[a-z]+=").matcher(HTML.toLowerCase(Locale.ROOT)).find()).as("an event handler")
        .isFalse();
    Matcher href = Pattern.compile("href=\"([^\"]*)\"").matcher(HTML);
    while (href.find()) {
      assertThat(href.group(1)).as("links stay inside the page").startsWith("#scenario-");
    }
  }

  @Test
  void everyColouredColumnOfTheFullTableIsAColumnOfTheReport() {
    List<String> columns = new ArrayList<>(Report.COLUMNS);
    columns.add("verdict");
    assertThat(columns).containsAll(HtmlReport.COLOURED_COLUMNS.keySet());
    assertThat(RunFigures.MEASURES).containsAll(HtmlReport.COLOURED_COLUMNS.values());
  }

  @Test
  void namesAreEscaped() {
    assertThat(HtmlReport.escape("s <1> & \"q\"")).isEqualTo("s &lt;1&gt; &amp; &quot;q&quot;");
  }

  // ---- reading the page back ----

  record Cell(String colour, String text) {}

  private static Cell cell(String scenarioId, Strategy strategy, String measure) {
    return cell(HTML, scenarioId, strategy, measure);
  }

  /** The summary cell of a measure in a strategy's row of a scenario's rows of the summary table. */
  private static Cell cell(String html, String scenarioId, Strategy strategy, String measure) {
    String section = summaryOf(html, scenarioId);
    Matcher row = Pattern.compile("<tr data-strategy=\"" + strategy.name() + "\">(.*?)</tr>", Pattern.DOTALL)
        .matcher(section);
    assertThat(row.find()).as(strategy + "'s row in " + scenarioId).isTrue();
    Matcher td = Pattern.compile("<(td|span) class=\"(\\w+)\" data-measure=\"" + measure + "\"[^>]*>(.*?)</\\1>",
        Pattern.DOTALL).matcher(row.group(1));
    assertThat(td.find()).as(measure + " of " + strategy + " in " + scenarioId).isTrue();
    return new Cell(td.group(2), td.group(3).replaceAll("<[^>]+>.*?</[^>]+>", "").replaceAll("<[^>]+>", "").trim());
  }

  private static String summaryOf(String html, String scenarioId) {
    Matcher m = Pattern.compile("<tbody class=\"scenario\" id=\"summary-" + scenarioId + "-seed-42\">(.*?)</tbody>",
        Pattern.DOTALL).matcher(html);
    assertThat(m.find()).as("summary rows of " + scenarioId).isTrue();
    return m.group(1);
  }

  private static String section(String html, String scenarioId) {
    Matcher m = Pattern.compile("<section class=\"scenario\" id=\"scenario-" + scenarioId + "-seed-42\">(.*?)</section>",
        Pattern.DOTALL).matcher(html);
    assertThat(m.find()).as("section of " + scenarioId).isTrue();
    return m.group(1);
  }

  private static List<String> headers(String html) {
    Matcher table = Pattern.compile("<table class=\"summary\"><thead>(.*?)</thead>", Pattern.DOTALL).matcher(html);
    assertThat(table.find()).isTrue();
    List<String> headers = new ArrayList<>();
    Matcher th = Pattern.compile("<th[^>]*>(.*?)</th>").matcher(table.group(1));
    while (th.find()) {
      headers.add(th.group(1));
    }
    return headers;
  }

  private static List<String> rowStrategies(String section) {
    List<String> strategies = new ArrayList<>();
    Matcher m = Pattern.compile("<tr data-strategy=\"(\\w+)\">").matcher(section);
    while (m.find()) {
      strategies.add(m.group(1));
    }
    return strategies;
  }

  private static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }
}
