package dev.veracache.spring.cdc;

import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.InvalidationMappings.InvalidMappingsException;
import dev.veracache.cdc.InvalidationMappings.Problem;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The listener's table mappings and where they came from (named in every message about them): the YAML file of
 * {@code veracache.cdc.mappings}, the inline {@code veracache.cdc.tables}, or an {@link InvalidationMappings} bean.
 *
 * <p>Invariants: exactly one source; every problem of a file or of the inline tables is reported at once, each naming
 * the file or property, entry, field and the value as written ({@link CdcConfigurationException}); the inline form is
 * checked by the same code as a file ({@link InvalidationMappings#fromYaml}), so both accept and refuse the same.
 *
 * @param mappings the checked mappings
 * @param source where they came from, for messages
 */
public record CdcMappings(InvalidationMappings mappings, String source) {

  public static final String FILE_PROPERTY = CdcProperties.PREFIX + ".mappings";
  public static final String TABLES_PROPERTY = CdcProperties.PREFIX + ".tables";

  /** @throws CdcConfigurationException when neither or both are set, or what is set has problems */
  public static CdcMappings fromProperties(CdcProperties properties) {
    boolean file = properties.mappings() != null;
    boolean inline = !properties.tables().isEmpty();
    if (file && inline) {
      throw new CdcConfigurationException("Both " + FILE_PROPERTY + " ('" + properties.mappings() + "') and "
          + TABLES_PROPERTY + " (" + properties.tables().size() + " tables) are set: the listener takes its table "
          + "mappings from one place.", "Keep one of " + FILE_PROPERTY + " and " + TABLES_PROPERTY + ".");
    }
    if (file) {
      return fromFile(properties.mappings());
    }
    if (inline) {
      return fromTables(properties.tables());
    }
    throw new CdcConfigurationException("No table mappings: " + CdcProperties.PREFIX + ".enabled is true but neither "
        + FILE_PROPERTY + " (VERACACHE_CDC_MAPPINGS) nor " + TABLES_PROPERTY + " is set, so the listener does not "
        + "know which tables invalidate which cache keys.", "Set " + FILE_PROPERTY + " to the YAML file of table "
        + "mappings (see cdc-invalidator's README), or list them under " + TABLES_PROPERTY + "[0].table/namespace/"
        + "keys/version, or define an InvalidationMappings bean.");
  }

  /** The YAML file of {@code veracache.cdc.mappings}. */
  public static CdcMappings fromFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new CdcConfigurationException(FILE_PROPERTY + " names '" + file + "', which "
          + (Files.exists(file) ? "is not a file" : "does not exist") + " (working directory "
          + Path.of("").toAbsolutePath() + ").",
          "Give the path of the YAML file of table mappings in " + FILE_PROPERTY + " (VERACACHE_CDC_MAPPINGS).");
    }
    if (!Files.isReadable(file)) {
      throw new CdcConfigurationException(FILE_PROPERTY + " names '" + file + "', which this process cannot read.",
          "Make the file readable by the user running the application.");
    }
    try {
      return new CdcMappings(InvalidationMappings.fromYaml(file), file.toString());
    } catch (InvalidMappingsException e) {
      throw new CdcConfigurationException(describe("The mapping file " + file + " (" + FILE_PROPERTY + ")", e, null),
          "Fix " + (e.problems().size() == 1 ? "it" : "them") + " in " + file + " (the format is in cdc-invalidator's "
          + "README: table, namespace, keys, version, tombstoneTtl) and start again.", e);
    } catch (IllegalArgumentException e) { // unreadable file
      throw new CdcConfigurationException("The mapping file " + file + " (" + FILE_PROPERTY + ") cannot be read: "
          + e.getMessage(), "Check the file and start again.", e);
    }
  }

  /** The inline {@code veracache.cdc.tables}, checked as a mapping file's entries are. */
  public static CdcMappings fromTables(List<CdcProperties.Table> tables) {
    JsonMapper json = JsonMapper.builder().build();
    ObjectNode root = json.createObjectNode();
    ArrayNode entries = root.putArray("tables");
    for (CdcProperties.Table t : tables) {
      ObjectNode entry = entries.addObject();
      putIfSet(entry, "table", t.table());
      putIfSet(entry, "namespace", t.namespace());
      if (t.keys() != null) {
        ArrayNode keys = entry.putArray("keys");
        t.keys().forEach(keys::add);
      }
      putIfSet(entry, "version", t.version());
      putIfSet(entry, "tombstoneTtl", t.tombstoneTtl());
    }
    try {
      return new CdcMappings(InvalidationMappings.fromYaml(new ByteArrayInputStream(json.writeValueAsBytes(root)),
          TABLES_PROPERTY), TABLES_PROPERTY);
    } catch (InvalidMappingsException e) {
      throw new CdcConfigurationException(describe("The table mappings of " + TABLES_PROPERTY, e, TABLES_PROPERTY),
          "Fix " + (e.problems().size() == 1 ? "it" : "them") + " (each entry: table as database.table, namespace, "
          + "keys, optional version and tombstone-ttl) and start again.", e);
    }
  }

  private static void putIfSet(ObjectNode entry, String field, String value) {
    if (value != null) {
      entry.put(field, value);
    }
  }

  /**
   * One line a problem. With {@code property}, an entry is named as its property ({@code veracache.cdc.tables[0]
   * .namespace}); without, as the file's entry and field ({@code tables[0] (shop.product), field 'namespace'}).
   */
  private static String describe(String what, InvalidMappingsException e, String property) {
    int n = e.problems().size();
    StringBuilder text = new StringBuilder(what + (property == null ? " has " : " have ") + n
        + (n == 1 ? " problem:" : " problems:"));
    for (Problem p : e.problems()) {
      text.append("\n  - ");
      if (p.entry() != null) {
        if (property != null) {
          text.append(property).append(p.entry().substring("tables".length()));
          if (p.field() != null) {
            text.append('.').append(kebab(p.field()));
          }
          if (p.table() != null) {
            text.append(" (").append(p.table()).append(')');
          }
        } else {
          text.append(p.entry());
          if (p.table() != null) {
            text.append(" (").append(p.table()).append(')');
          }
          if (p.field() != null) {
            text.append(", field '").append(p.field()).append('\'');
          }
        }
        text.append(p.value() == null ? ", missing" : ", written '" + p.value() + "'").append(": ");
      }
      text.append(p.message());
    }
    return text.toString();
  }

  private static String kebab(String field) {
    return field.replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }
}
