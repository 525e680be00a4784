package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module README says what the code is: its API table lists every public type outside the internal package, and its
 * options tables give every {@code DEFAULT_*} constant with the constant's value. No servers.
 */
class ReadmeTest {

  private static final Pattern TICKED = Pattern.compile("`([^`]+)`");

  @Test
  void theApiTableListsEveryPublicTypeOfTheModule() throws Exception {
    Set<String> listed = new LinkedHashSet<>();
    for (List<String> row : table(section("## API"))) {
      Matcher names = TICKED.matcher(row.get(0));
      while (names.find()) {
        listed.add(names.group(1));
      }
    }
    Set<String> publicTypes = new LinkedHashSet<>();
    for (Class<?> type : mainTypes()) {
      if (Modifier.isPublic(type.getModifiers()) && !type.getPackageName().startsWith("dev.veracache.internal")) {
        publicTypes.add(type.getSimpleName());
      }
    }
    assertThat(publicTypes).as("public types of cache-patterns").isNotEmpty();
    assertThat(listed).as("the README's API table (first column)").containsAll(publicTypes);
    Set<String> allNames = new LinkedHashSet<>();
    mainTypes().forEach(t -> allNames.add(t.getSimpleName()));
    assertThat(allNames).as("every type the README's API table names exists").containsAll(listed);
  }

  @Test
  void theOptionsTablesGiveEveryDefaultConstantWithItsValue() throws Exception {
    Map<String, String> documented = new LinkedHashMap<>(); // constant -> default column
    for (List<String> row : table(section("## Options"))) {
      Matcher constant = TICKED.matcher(row.get(2));
      if (constant.matches()) {
        documented.put(constant.group(1), row.get(1));
      }
    }
    Map<String, Object> constants = new LinkedHashMap<>();
    for (Class<?> type : List.of(CacheOptions.class, VeracacheOptions.class, BreakerSettings.class,
        WriteBehindOptions.class, FlusherOptions.class, StockOptions.class, InspectorOptions.class)) {
      for (Field field : type.getFields()) {
        int modifiers = field.getModifiers();
        if (field.getName().startsWith("DEFAULT_") && Modifier.isStatic(modifiers) && Modifier.isFinal(modifiers)) {
          constants.put(type.getSimpleName() + "." + field.getName(), field.get(null));
        }
      }
    }
    assertThat(documented.keySet()).as("constants named in the README's options tables")
        .containsExactlyInAnyOrderElementsOf(constants.keySet());
    constants.forEach((name, value) -> {
      if (!(value instanceof BreakerSettings)) {
        assertThat(documented.get(name)).as("README default of %s", name).isEqualTo(readable(value));
      }
    });
  }

  /**
   * The project's docs are its own: no file of the repository points to a directory outside it (the consistency
   * contract the code keeps is GUARANTEES.md, at the root).
   */
  @Test
  void noFileOfTheRepositoryPointsOutsideIt() throws IOException {
    Path root = Path.of("").toAbsolutePath().getParent();
    assertThat(root.resolve("GUARANTEES.md")).as("the repository root").exists();
    // Each spelled in parts so that this file does not match itself: the shared reference material of the team, and
    // the tracker's issue and helper numbers, which a reader of the repository has no way to look up.
    Pattern outside = Pattern.compile(Pattern.quote(".." + "/shared") + "|" + Pattern.quote("CONSISTENCY" + ".md") + "|"
        + Pattern.quote("STACK-" + "NOTES") + "|" + Pattern.quote("session" + " note") + "|\\b[Ii]ssue[ -]?[0-9]+\\b|"
        + "\\(H[0-9]{1,2}\\)");
    List<String> offenders = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      files.filter(Files::isRegularFile)
          .filter(f -> !root.relativize(f).toString().matches("(.*/)?(target|\\.git|node_modules)/.*"))
          .filter(f -> f.toString().matches(".*\\.(md|java|ya?ml|xml|properties|lua|sh)$"))
          .forEach(f -> {
            try {
              Matcher found = outside.matcher(Files.readString(f));
              if (found.find()) {
                offenders.add(root.relativize(f) + ": " + found.group());
              }
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
    }
    assertThat(offenders).as("files pointing outside the repository (%s)", outside).isEmpty();
  }

  /** How the README writes a default: 500 ms, 1.5 s, 10 min, 100,000, 0.1, 50, true, veracache. */
  static String readable(Object value) {
    if (value instanceof Duration d) {
      long millis = d.toMillis();
      if (millis % 3_600_000 == 0) {
        return millis / 3_600_000 + " h";
      }
      if (millis % 60_000 == 0) {
        return millis / 60_000 + " min";
      }
      if (millis % 1000 == 0) {
        return millis / 1000 + " s";
      }
      return millis > 1000 ? millis / 1000.0 + " s" : millis + " ms";
    }
    if (value instanceof Integer || value instanceof Long) {
      return String.format(java.util.Locale.ROOT, "%,d", ((Number) value).longValue());
    }
    if (value instanceof Float || value instanceof Double) {
      double number = ((Number) value).doubleValue();
      return number == Math.rint(number) ? String.valueOf((long) number) : String.valueOf(number);
    }
    return String.valueOf(value);
  }

  @Test
  void readableWritesDefaultsTheWayTheReadmeDoes() {
    assertThat(readable(Duration.ofMillis(500))).isEqualTo("500 ms");
    assertThat(readable(Duration.ofMillis(1500))).isEqualTo("1.5 s");
    assertThat(readable(Duration.ofSeconds(60))).isEqualTo("1 min");
    assertThat(readable(100_000)).isEqualTo("100,000");
    assertThat(readable(50f)).isEqualTo("50");
    assertThat(readable(0.1)).isEqualTo("0.1");
  }

  private static String section(String heading) throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    int start = readme.indexOf("\n" + heading + "\n");
    assertThat(start).as("README.md has a section '%s'", heading).isNotNegative();
    int end = readme.indexOf("\n#", start + heading.length() + 2);
    return end < 0 ? readme.substring(start) : readme.substring(start, end);
  }

  /** The rows of every Markdown table in {@code text}, without header and separator rows, cells trimmed. */
  private static List<List<String>> table(String text) {
    List<List<String>> rows = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (!line.startsWith("|") || line.startsWith("|---") || line.startsWith("| type |")
          || line.startsWith("| setting |")) {
        continue;
      }
      List<String> cells = new ArrayList<>();
      for (String cell : line.substring(1, line.length() - 1).split("\\|", -1)) {
        cells.add(cell.trim());
      }
      rows.add(cells);
    }
    return rows;
  }

  /** Every top-level type compiled from src/main/java. */
  private static List<Class<?>> mainTypes() throws IOException, URISyntaxException {
    Path classes = Path.of(Veracache.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<Class<?>> types = new ArrayList<>();
    try (Stream<Path> files = Files.walk(classes)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        String relative = classes.relativize(file).toString();
        if (relative.endsWith(".class") && !relative.contains("$") && !relative.endsWith("package-info.class")) {
          String name = relative.substring(0, relative.length() - ".class".length()).replace(file.getFileSystem()
              .getSeparator(), ".");
          try {
            types.add(Class.forName(name, false, ReadmeTest.class.getClassLoader()));
          } catch (ClassNotFoundException e) {
            throw new IllegalStateException("compiled class " + name + " cannot be loaded", e);
          }
        }
      }
    }
    return types;
  }
}
