package dev.veracache.sidecar;

import dev.veracache.cdc.InvalidationMappings;
import dev.veracache.cdc.InvalidationMappings.InvalidMappingsException;
import dev.veracache.cdc.InvalidationMappings.Problem;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the mapping file named by {@code veracache.cdc.mappings}, reporting every problem of it at once. */
final class MappingFiles {

  static final String PROPERTY = "veracache.cdc.mappings";

  private MappingFiles() {}

  /** @throws SidecarConfigurationException naming the file and, for each problem, entry, field and value as written */
  static InvalidationMappings load(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new SidecarConfigurationException(PROPERTY + " names '" + file + "', which "
          + (Files.exists(file) ? "is not a file" : "does not exist") + " (working directory "
          + Path.of("").toAbsolutePath() + ").",
          "Give the path of the YAML file of table mappings in " + PROPERTY + " (VERACACHE_CDC_MAPPINGS).");
    }
    if (!Files.isReadable(file)) {
      throw new SidecarConfigurationException(PROPERTY + " names '" + file + "', which this process cannot read.",
          "Make the file readable by the user running the sidecar.");
    }
    try {
      return InvalidationMappings.fromYaml(file);
    } catch (InvalidMappingsException e) {
      throw new SidecarConfigurationException(describe(file, e), "Fix " + (e.problems().size() == 1 ? "it" : "them")
          + " in " + file + " (the format is in cdc-invalidator's README: table, namespace, keys, version, "
          + "tombstoneTtl) and start again.", e);
    } catch (IllegalArgumentException e) { // unreadable file
      throw new SidecarConfigurationException("The mapping file " + file + " (" + PROPERTY + ") cannot be read: "
          + e.getMessage(), "Check the file and start again.", e);
    }
  }

  private static String describe(Path file, InvalidMappingsException e) {
    int n = e.problems().size();
    StringBuilder text = new StringBuilder("The mapping file " + file + " (" + PROPERTY + ") has " + n
        + (n == 1 ? " problem:" : " problems:"));
    for (Problem p : e.problems()) {
      text.append("\n  - ");
      if (p.entry() != null) {
        text.append(p.entry());
        if (p.table() != null) {
          text.append(" (").append(p.table()).append(')');
        }
        if (p.field() != null) {
          text.append(", field '").append(p.field()).append('\'');
        }
        text.append(p.value() == null ? ", missing" : ", written '" + p.value() + "'").append(": ");
      }
      text.append(p.message());
    }
    return text.toString();
  }
}
