package dev.veracache.cdc.internal;

import dev.veracache.cdc.MappingException;
import dev.veracache.cdc.TableMapping;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;

/**
 * A cache key built from a row's columns: {@code "{id}"}, {@code "sku:{sku}"}, {@code "{tenant}:{id}"},
 * {@code "{email:lower}"}, {@code "{uuid:uuid}"}. It renders the part after {@code namespace:}, the same text a
 * {@code TieredCache} key encoder produces.
 *
 * <p>Internal: not part of the API; may change in any release (public only for {@link TableMapping}'s builder).
 *
 * <p>Invariants:
 * <ul>
 *   <li>Each placeholder is {@code {column}} or {@code {column:format}} ({@link KeyFormat}); a malformed template or an
 *       unknown format fails when the mapping is built, naming table and template.</li>
 *   <li>Every value is rendered by {@link KeyRendering} from its Debezium type, so a key is the text Java code would
 *       build from the same row; what cannot be rendered faithfully is refused at start ({@link #check}) or, when the
 *       table changed under a running listener, stops it ({@link MappingException}).</li>
 *   <li>A NULL column yields no key (no such key exists), never the text {@code "null"}.</li>
 * </ul>
 */
public final class KeyTemplate {

  /** One {@code {column}} or {@code {column:format}} of a template. */
  record Placeholder(String column, KeyFormat format) {}

  private final String template;
  private final List<String> literals; // literals.size() == placeholders.size() + 1
  private final List<Placeholder> placeholders;

  private KeyTemplate(String template, List<String> literals, List<Placeholder> placeholders) {
    this.template = template;
    this.literals = literals;
    this.placeholders = placeholders;
  }

  /** @throws IllegalArgumentException naming the table and the template when it is malformed */
  public static KeyTemplate parse(String template, String table) {
    if (template == null || template.isBlank()) {
      throw new IllegalArgumentException("table " + table + ": a key template is empty");
    }
    List<String> literals = new ArrayList<>();
    List<Placeholder> placeholders = new ArrayList<>();
    int at = 0;
    while (true) {
      int open = template.indexOf('{', at);
      if (open < 0) {
        if (template.indexOf('}', at) >= 0) {
          throw new IllegalArgumentException("table " + table + ": key template '" + template + "' has a '}' "
              + "without '{'");
        }
        literals.add(template.substring(at));
        break;
      }
      int close = template.indexOf('}', open);
      if (close < 0) {
        throw new IllegalArgumentException("table " + table + ": key template '" + template + "' has an unclosed '{'");
      }
      String inside = template.substring(open + 1, close);
      int colon = inside.indexOf(':');
      String column = (colon < 0 ? inside : inside.substring(0, colon)).trim();
      if (column.isEmpty() || inside.contains("{")) {
        throw new IllegalArgumentException("table " + table + ": key template '" + template + "' has an empty or "
            + "nested column reference");
      }
      KeyFormat format = colon < 0 ? KeyFormat.DEFAULT
          : KeyFormat.parse(inside.substring(colon + 1).trim(), table, template, column);
      literals.add(template.substring(at, open));
      placeholders.add(new Placeholder(column, format));
      at = close + 1;
    }
    if (placeholders.isEmpty()) {
      throw new IllegalArgumentException("table " + table + ": key template '" + template + "' names no column; "
          + "write columns as {column} or {column:format}");
    }
    return new KeyTemplate(template, List.copyOf(literals), List.copyOf(placeholders));
  }

  /** A mapping's key templates, parsed (the mapping was checked when built: they parse). */
  static List<KeyTemplate> of(TableMapping mapping) {
    return mapping.keyTemplates().stream().map(t -> parse(t, mapping.table())).toList();
  }

  public List<String> columns() {
    return placeholders.stream().map(Placeholder::column).toList();
  }

  /**
   * At start: every placeholder fits its column's type.
   *
   * @param columns the table's columns by lower-case name (column names are case-insensitive in MySQL)
   * @throws IllegalArgumentException naming table, template, column and type
   */
  void check(String table, Map<String, ColumnType> columns) {
    for (Placeholder p : placeholders) {
      ColumnType type = columns.get(p.column().toLowerCase(Locale.ROOT));
      if (type == null) {
        throw new IllegalArgumentException("table " + table + ": field 'keys' names column '" + p.column()
            + "', which the table does not have (it has " + columns.keySet() + ")");
      }
      KeyRendering.check(table, template, p.column(), p.format(), type);
    }
  }

  /**
   * The key for this row image, or null when a column of the template is NULL in the row (no such key exists).
   *
   * @throws MappingException when the row has no such column, or a value this template cannot render faithfully (the
   *     table changed under the mapping)
   */
  String render(Struct row, String table) {
    StringBuilder key = new StringBuilder(literals.get(0));
    for (int i = 0; i < placeholders.size(); i++) {
      Placeholder p = placeholders.get(i);
      Field field = field(row, p.column());
      if (field == null) {
        throw new MappingException("table " + table + ": key template '" + template + "' names column '"
            + p.column() + "', which the row no longer has");
      }
      Object value = row.get(field);
      if (value == null) {
        return null;
      }
      key.append(KeyRendering.render(table, template, p.column(), p.format(), field.schema(), value));
      key.append(literals.get(i + 1));
    }
    return key.toString();
  }

  /** The row's field for a column, matched as MySQL matches column names: exactly, else ignoring case. */
  static Field field(Struct row, String column) {
    Field exact = row.schema().field(column);
    if (exact != null) {
      return exact;
    }
    for (Field f : row.schema().fields()) {
      if (f.name().equalsIgnoreCase(column)) {
        return f;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return template;
  }
}
