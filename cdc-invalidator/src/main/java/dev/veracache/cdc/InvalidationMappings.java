package dev.veracache.cdc;

import dev.veracache.VeracacheException;
import dev.veracache.cdc.internal.KeyTemplate;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Which tables invalidate which cache keys. Built in Java or read from YAML; every mistake is reported at build time
 * with the table and the field it concerns. A YAML file is checked whole before it fails: every problem of every entry
 * is reported at once ({@link InvalidMappingsException#problems()}), each with the value as the file wrote it.
 *
 * <pre>{@code
 * InvalidationMappings mappings = InvalidationMappings.builder()
 *     .table("shop.product").namespace("product").key("{id}").key("sku:{sku}").version("version").add()
 *     .build();
 * }</pre>
 *
 * <pre>
 * tables:
 *   - table: shop.product        # database.table
 *     namespace: product         # the CacheOptions namespace
 *     keys: ["{id}", "sku:{sku}"]  # each renders the key after "namespace:"
 *     version: version           # optional: a row version column (a number that grows with every change)
 *     tombstoneTtl: 60s          # optional, default 60s
 * </pre>
 */
public final class InvalidationMappings {

  private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9_.\\-]{1,64}");
  private static final Duration DEFAULT_TOMBSTONE_TTL = Duration.ofSeconds(60);

  private final Map<String, TableMapping> byTable;

  private InvalidationMappings(Map<String, TableMapping> byTable) {
    this.byTable = Map.copyOf(byTable);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Reads YAML (see the class comment). */
  public static InvalidationMappings fromYaml(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return fromYaml(in, file.toString());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read mapping file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads YAML (see the class comment), checking every entry before it fails: the {@link InvalidMappingsException}
   * lists each problem of the file (entry, field, value as written), one per line of its message.
   */
  public static InvalidationMappings fromYaml(InputStream yaml, String sourceName) {
    JsonNode root;
    try {
      root = new YAMLMapper().readTree(yaml);
    } catch (JacksonException e) {
      throw new InvalidMappingsException(sourceName, List.of(new Problem(null, null, null, null,
          sourceName + " is not valid YAML: " + e.getOriginalMessage())), e);
    }
    JsonNode tables = root == null ? null : root.get("tables");
    if (tables == null || !tables.isArray() || tables.isEmpty()) {
      throw new InvalidMappingsException(sourceName, List.of(new Problem(null, null, "tables", null,
          sourceName + ": expected a non-empty list under 'tables'")), null);
    }
    Builder builder = builder();
    List<Problem> problems = new ArrayList<>();
    int index = 0;
    for (JsonNode t : tables) {
      readEntry(t, "tables[" + index++ + "]", sourceName, builder, problems);
    }
    if (!problems.isEmpty()) {
      throw new InvalidMappingsException(sourceName, problems, null);
    }
    return builder.build();
  }

  /** Checks every field of one entry, adding each problem; adds the table to {@code builder} only when it has none. */
  private static void readEntry(JsonNode t, String entry, String sourceName, Builder builder, List<Problem> problems) {
    int problemsBefore = problems.size();
    if (!t.isObject()) {
      problems.add(new Problem(entry, null, null, t.toString(), sourceName + " " + entry
          + ": expected fields table, namespace, keys, version, tombstoneTtl, was '" + t + "'"));
      return;
    }
    String table = null;
    TableBuilder tb = null;
    try {
      table = text(t, "table", sourceName + " " + entry);
      tb = builder.table(table);
    } catch (IllegalArgumentException e) {
      problems.add(new Problem(entry, table, "table", written(t.get("table")), e.getMessage()));
    }
    String label = table == null ? sourceName + " " + entry : "table " + table;
    String namespace = null;
    try {
      namespace = text(t, "namespace", label);
      checkNamespace(label, namespace);
    } catch (IllegalArgumentException e) {
      problems.add(new Problem(entry, table, "namespace", written(t.get("namespace")), e.getMessage()));
    }
    JsonNode keys = t.get("keys");
    List<String> keyTemplates = new ArrayList<>();
    if (keys == null || !keys.isArray()) {
      problems.add(new Problem(entry, table, "keys", written(keys),
          label + ": field 'keys' must be a list of key templates"));
    } else if (keys.isEmpty()) {
      problems.add(new Problem(entry, table, "keys", "[]", label + ": field 'keys' needs at least one key template"));
    } else {
      for (JsonNode k : keys) {
        try {
          KeyTemplate.parse(k.asString(), table == null ? entry : table);
          keyTemplates.add(k.asString());
        } catch (IllegalArgumentException e) {
          problems.add(new Problem(entry, table, "keys", k.asString(), e.getMessage()));
        }
      }
    }
    String version = null;
    if (t.hasNonNull("version")) {
      JsonNode v = t.get("version");
      if (v.asString().isBlank()) {
        problems.add(new Problem(entry, table, "version", written(v), label + ": field 'version' is empty"));
      } else {
        version = v.asString().trim();
      }
    }
    Duration tombstoneTtl = DEFAULT_TOMBSTONE_TTL;
    if (t.hasNonNull("tombstoneTtl")) {
      String text = t.get("tombstoneTtl").asString();
      try {
        tombstoneTtl = parseDuration(text, label + ": field 'tombstoneTtl'");
        if (tombstoneTtl.isZero() || tombstoneTtl.isNegative()) {
          problems.add(new Problem(entry, table, "tombstoneTtl", text, label
              + ": field 'tombstoneTtl' must be positive, was '" + text + "'"));
        }
      } catch (IllegalArgumentException e) {
        problems.add(new Problem(entry, table, "tombstoneTtl", text, e.getMessage()));
      }
    }
    for (var name : t.propertyNames()) {
      if (!FIELDS.contains(name)) {
        problems.add(new Problem(entry, table, name, written(t.get(name)), label + ": unknown field '" + name + "'"));
      }
    }
    if (problems.size() > problemsBefore || tb == null) {
      return;
    }
    tb.namespace(namespace);
    keyTemplates.forEach(tb::key);
    if (version != null) {
      tb.version(version);
    }
    tb.tombstoneTtl(tombstoneTtl);
    try {
      tb.add();
    } catch (IllegalArgumentException e) { // mapped twice: the only check add() makes that is not made above
      problems.add(new Problem(entry, table, "table", table, e.getMessage()));
    }
  }

  private static final List<String> FIELDS = List.of("table", "namespace", "keys", "version", "tombstoneTtl");

  /** The value as the YAML file wrote it (scalars without quotes), or null when absent. */
  private static String written(JsonNode value) {
    if (value == null || value.isMissingNode()) {
      return null;
    }
    return value.isValueNode() ? value.asString() : value.toString();
  }

  private static void checkNamespace(String label, String namespace) {
    if (namespace == null || !NAMESPACE.matcher(namespace).matches()) {
      throw new IllegalArgumentException(label + ": field 'namespace' ('" + namespace + "') must be "
          + "1-64 letters, digits, '_', '.' or '-'");
    }
  }

  /**
   * One problem of a mapping file.
   *
   * @param entry {@code tables[i]}, or null for the file as a whole
   * @param table the entry's table as written, or null when it has none (or is not valid)
   * @param field the field concerned, or null
   * @param value the value as written in the file, or null when absent
   * @param message the whole sentence, naming the table (or entry), field and value
   */
  public record Problem(String entry, String table, String field, String value, String message) {}

  /** A mapping file with problems: {@link #problems()} lists every one, the message has one line each. */
  public static final class InvalidMappingsException extends VeracacheException {
    private final String source;
    private final transient List<Problem> problems;

    InvalidMappingsException(String source, List<Problem> problems, Throwable cause) {
      super(String.join("\n", problems.stream().map(Problem::message).toList()), cause);
      this.source = source;
      this.problems = List.copyOf(problems);
    }

    /** The file (or source name) read. */
    public String source() {
      return source;
    }

    public List<Problem> problems() {
      return problems;
    }
  }

  private static String text(JsonNode node, String field, String where) {
    JsonNode value = node.get(field);
    if (value == null || !value.isString() || value.asString().isBlank()) {
      throw new IllegalArgumentException(where + ": field '" + field + "' is missing or empty");
    }
    return value.asString().trim();
  }

  /** {@code 60s}, {@code 500ms}, {@code 2m}, or ISO-8601 {@code PT1M}. */
  static Duration parseDuration(String text, String what) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      if (t.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      return Duration.parse(text.trim());
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException(what + ": '" + text + "' is not a duration (use 500ms, 60s, 2m or PT1M)");
    }
  }

  /** The mapping of {@code database.table}, or null when the table is not mapped. */
  public TableMapping forTable(String database, String table) {
    return byTable.get(database + "." + table);
  }

  public List<TableMapping> tables() {
    return List.copyOf(byTable.values());
  }

  /** The databases the mapped tables live in: what the listener captures. */
  public List<String> databases() {
    return byTable.keySet().stream().map(t -> t.substring(0, t.indexOf('.'))).distinct().sorted().toList();
  }

  public static final class Builder {
    private final Map<String, TableMapping> tables = new LinkedHashMap<>();

    private Builder() {}

    /** @param table {@code database.table} */
    public TableBuilder table(String table) {
      return new TableBuilder(this, table);
    }

    public InvalidationMappings build() {
      if (tables.isEmpty()) {
        throw new IllegalArgumentException("no table is mapped");
      }
      return new InvalidationMappings(tables);
    }
  }

  public static final class TableBuilder {
    private final Builder parent;
    private final String table;
    private String namespace;
    private final List<String> keys = new ArrayList<>();
    private String version;
    private Duration tombstoneTtl = DEFAULT_TOMBSTONE_TTL;

    private TableBuilder(Builder parent, String table) {
      this.parent = parent;
      if (table == null || !table.matches("[^.\\s]+\\.[^.\\s]+")) {
        throw new IllegalArgumentException("table '" + table + "' must be written database.table");
      }
      this.table = table;
    }

    public TableBuilder namespace(String namespace) {
      this.namespace = namespace;
      return this;
    }

    /** A key template such as {@code "{id}"} or {@code "sku:{sku}"}; call once per key. */
    public TableBuilder key(String template) {
      keys.add(template);
      return this;
    }

    public TableBuilder version(String column) {
      if (column == null || column.isBlank()) {
        throw new IllegalArgumentException("table " + table + ": field 'version' is empty");
      }
      this.version = column.trim();
      return this;
    }

    public TableBuilder tombstoneTtl(Duration ttl) {
      if (ttl == null || ttl.isZero() || ttl.isNegative()) {
        throw new IllegalArgumentException("table " + table + ": field 'tombstoneTtl' must be positive, was " + ttl);
      }
      this.tombstoneTtl = ttl;
      return this;
    }

    /** Validates this table's mapping and adds it. */
    public Builder add() {
      checkNamespace("table " + table, namespace);
      if (keys.isEmpty()) {
        throw new IllegalArgumentException("table " + table + ": field 'keys' needs at least one key template");
      }
      if (parent.tables.containsKey(table)) {
        throw new IllegalArgumentException("table " + table + " is mapped twice");
      }
      List<KeyTemplate> parsed = keys.stream().map(k -> KeyTemplate.parse(k, table)).toList();
      parent.tables.put(table, new TableMapping(table, namespace, parsed, version, tombstoneTtl));
      return parent;
    }
  }
}
