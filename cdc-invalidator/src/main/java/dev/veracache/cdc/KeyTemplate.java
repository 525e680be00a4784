package dev.veracache.cdc;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;

/**
 * A cache key built from a row's columns: {@code "{id}"}, {@code "sku:{sku}"}, {@code "{tenant}:{id}"}. It renders
 * the part after {@code namespace:}, the same text a {@code TieredCache} key encoder produces.
 */
final class KeyTemplate {

  private final String template;
  private final List<String> literals; // literals.size() == columns.size() + 1
  private final List<String> columns;

  private KeyTemplate(String template, List<String> literals, List<String> columns) {
    this.template = template;
    this.literals = literals;
    this.columns = columns;
  }

  /** @throws IllegalArgumentException naming the table and the template when it is malformed */
  static KeyTemplate parse(String template, String table) {
    if (template == null || template.isBlank()) {
      throw new IllegalArgumentException("table " + table + ": a key template is empty");
    }
    List<String> literals = new ArrayList<>();
    List<String> columns = new ArrayList<>();
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
      String column = template.substring(open + 1, close).trim();
      if (column.isEmpty() || column.contains("{")) {
        throw new IllegalArgumentException("table " + table + ": key template '" + template + "' has an empty or "
            + "nested column reference");
      }
      literals.add(template.substring(at, open));
      columns.add(column);
      at = close + 1;
    }
    if (columns.isEmpty()) {
      throw new IllegalArgumentException("table " + table + ": key template '" + template + "' names no column; "
          + "write columns as {column}");
    }
    return new KeyTemplate(template, List.copyOf(literals), List.copyOf(columns));
  }

  List<String> columns() {
    return columns;
  }

  /**
   * The key for this row image, or null when a column of the template is NULL in the row (no such key exists).
   *
   * @throws MappingException when the row has no such column (the table changed under the mapping)
   */
  String render(Struct row, String table) {
    StringBuilder key = new StringBuilder(literals.get(0));
    for (int i = 0; i < columns.size(); i++) {
      Field field = row.schema().field(columns.get(i));
      if (field == null) {
        throw new MappingException("table " + table + ": key template '" + template + "' names column '"
            + columns.get(i) + "', which the row no longer has");
      }
      Object value = row.get(field);
      if (value == null) {
        return null;
      }
      key.append(value instanceof BigDecimal d ? d.toPlainString() : String.valueOf(value));
      key.append(literals.get(i + 1));
    }
    return key.toString();
  }

  @Override
  public String toString() {
    return template;
  }
}
