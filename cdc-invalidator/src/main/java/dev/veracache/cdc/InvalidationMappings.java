package dev.veracache.cdc;

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
 * with the table and the field it concerns.
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

  public static InvalidationMappings fromYaml(InputStream yaml, String sourceName) {
    JsonNode root;
    try {
      root = new YAMLMapper().readTree(yaml);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(sourceName + " is not valid YAML: " + e.getOriginalMessage(), e);
    }
    JsonNode tables = root == null ? null : root.get("tables");
    if (tables == null || !tables.isArray() || tables.isEmpty()) {
      throw new IllegalArgumentException(sourceName + ": expected a non-empty list under 'tables'");
    }
    Builder builder = builder();
    int index = 0;
    for (JsonNode t : tables) {
      String where = sourceName + " tables[" + index++ + "]";
      String table = text(t, "table", where);
      TableBuilder tb = builder.table(table);
      tb.namespace(text(t, "namespace", "table " + table));
      JsonNode keys = t.get("keys");
      if (keys == null || !keys.isArray()) {
        throw new IllegalArgumentException("table " + table + ": field 'keys' must be a list of key templates");
      }
      for (JsonNode k : keys) {
        tb.key(k.asString());
      }
      if (t.hasNonNull("version")) {
        tb.version(t.get("version").asString());
      }
      if (t.hasNonNull("tombstoneTtl")) {
        tb.tombstoneTtl(parseDuration(t.get("tombstoneTtl").asString(), "table " + table + ": field 'tombstoneTtl'"));
      }
      for (var name : t.propertyNames()) {
        if (!List.of("table", "namespace", "keys", "version", "tombstoneTtl").contains(name)) {
          throw new IllegalArgumentException("table " + table + ": unknown field '" + name + "'");
        }
      }
      tb.add();
    }
    return builder.build();
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
      if (namespace == null || !NAMESPACE.matcher(namespace).matches()) {
        throw new IllegalArgumentException("table " + table + ": field 'namespace' ('" + namespace + "') must be "
            + "1-64 letters, digits, '_', '.' or '-'");
      }
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
