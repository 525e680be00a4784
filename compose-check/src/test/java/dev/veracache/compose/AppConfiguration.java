package dev.veracache.compose;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertyState;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What one Spring Boot application of the repository reads: the properties it declares (generated configuration
 * metadata of its own module, the starter and the Spring Boot jars on this test's class path) and the values of its
 * {@code application.yml} and {@code application-<profile>.yml}, so the checks can ask what an environment variable
 * given by compose binds to, the way Spring binds it.
 *
 * <p>Invariants: environment variables are matched to properties by Spring Boot's own relaxed binding (a
 * {@link SystemEnvironmentPropertySource} named {@code systemEnvironment}, read through
 * {@link ConfigurationPropertySource}), never by a hand-written rule; a property is "known" when some metadata
 * declares it (or a map or list property above it) or one of the application's YAML files sets it.
 */
final class AppConfiguration {

  /** A property the application declares: its name and whether it is a map or list (any key below it binds). */
  record Declared(ConfigurationPropertyName name, boolean container) {}

  /** A value and where it came from (an environment variable of the service or a YAML file). */
  record Value(String value, String origin) {}

  final String module;
  final List<Declared> declared = new ArrayList<>();
  /** application.yml and each application-<profile>.yml, flattened ("a.b[0].c" -> value), by file name. */
  final Map<String, Map<String, String>> yamlFiles = new LinkedHashMap<>();

  private AppConfiguration(String module) {
    this.module = module;
  }

  /**
   * Reads module {@code module} of the repository at {@code root}: its resources' YAML files and its generated
   * metadata (target/classes), plus {@code shared} (the starter's and Spring Boot's, read once).
   */
  static AppConfiguration of(Path root, String module, List<Declared> shared) throws IOException {
    AppConfiguration app = new AppConfiguration(module);
    app.declared.addAll(shared);
    Path metadata = root.resolve(module).resolve("target/classes/META-INF/spring-configuration-metadata.json");
    if (Files.exists(metadata)) {
      try (InputStream in = Files.newInputStream(metadata)) {
        app.declared.addAll(metadata(in));
      }
    }
    Path resources = root.resolve(module).resolve("src/main/resources");
    if (Files.isDirectory(resources)) {
      try (Stream<Path> files = Files.list(resources)) {
        for (Path f : files.filter(p -> p.getFileName().toString().matches("application(-[A-Za-z0-9_-]+)?\\.ya?ml"))
            .sorted().toList()) {
          app.yamlFiles.put(f.getFileName().toString(), flatten(f));
        }
      }
    }
    return app;
  }

  /** The metadata of the starter (built before this module) and of every Spring Boot jar on the class path. */
  static List<Declared> sharedMetadata() throws IOException {
    List<Declared> all = new ArrayList<>();
    Enumeration<URL> urls = AppConfiguration.class.getClassLoader()
        .getResources("META-INF/spring-configuration-metadata.json");
    while (urls.hasMoreElements()) {
      try (InputStream in = urls.nextElement().openStream()) {
        all.addAll(metadata(in));
      }
    }
    return all;
  }

  private static List<Declared> metadata(InputStream in) {
    List<Declared> out = new ArrayList<>();
    JsonNode properties = JsonMapper.builder().build().readTree(in).path("properties");
    for (JsonNode p : properties) {
      String type = p.path("type").asString("");
      boolean container = type.startsWith("java.util.Map") || type.startsWith("java.util.List")
          || type.startsWith("java.util.Set") || type.startsWith("java.util.Collection") || type.endsWith("[]");
      out.add(new Declared(ConfigurationPropertyName.adapt(p.path("name").asString(), '.'), container));
    }
    return out;
  }

  static Map<String, String> flatten(Path yamlFile) throws IOException {
    Map<String, String> flat = new LinkedHashMap<>();
    try (Reader reader = Files.newBufferedReader(yamlFile)) {
      for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(reader)) {
        flatten("", doc, flat);
      }
    }
    return flat;
  }

  private static void flatten(String prefix, Object node, Map<String, String> into) {
    if (node instanceof Map<?, ?> m) {
      m.forEach((k, v) -> flatten(prefix.isEmpty() ? String.valueOf(k) : prefix + "." + k, v, into));
    } else if (node instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        flatten(prefix + "[" + i + "]", l.get(i), into);
      }
    } else if (!prefix.isEmpty()) {
      into.put(prefix, node == null ? "" : String.valueOf(node));
    }
  }

  /** The environment variable's property source, as Spring Boot builds it for the process environment. */
  private static ConfigurationPropertySource environmentSource(String variable, String value) {
    return ConfigurationPropertySource.from(new SystemEnvironmentPropertySource(
        StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of(variable, value)));
  }

  /** True when Spring would bind {@code variable} to a property this application declares or sets in its YAML. */
  boolean bindsToKnownProperty(String variable, String value) {
    ConfigurationPropertySource source = environmentSource(variable, value);
    for (Declared d : declared) {
      if (source.getConfigurationProperty(d.name()) != null
          || d.container() && source.containsDescendantOf(d.name()) == ConfigurationPropertyState.PRESENT) {
        return true;
      }
    }
    for (Map<String, String> file : yamlFiles.values()) {
      for (String key : file.keySet()) {
        if (source.getConfigurationProperty(ConfigurationPropertyName.adapt(key, '.')) != null) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * The value the application sees for {@code property} when started with {@code environment} (already interpolated)
   * and the given profiles: an environment variable first, then application-<profile>.yml (last profile first), then
   * application.yml.
   */
  Optional<Value> effective(String property, Map<String, String> environment, List<String> profiles) {
    ConfigurationPropertyName name = ConfigurationPropertyName.of(property);
    for (Map.Entry<String, String> e : environment.entrySet()) {
      ConfigurationProperty p = environmentSource(e.getKey(), e.getValue()).getConfigurationProperty(name);
      if (p != null) {
        return Optional.of(new Value(String.valueOf(p.getValue()), "environment variable " + e.getKey()));
      }
    }
    List<String> files = new ArrayList<>();
    for (int i = profiles.size() - 1; i >= 0; i--) {
      files.add("application-" + profiles.get(i) + ".yml");
    }
    files.add("application.yml");
    for (String file : files) {
      Map<String, String> flat = yamlFiles.get(file);
      if (flat == null) {
        continue;
      }
      for (Map.Entry<String, String> e : flat.entrySet()) {
        if (ConfigurationPropertyName.adapt(e.getKey(), '.').equals(name)) {
          return Optional.of(new Value(e.getValue(), module + "/src/main/resources/" + file));
        }
      }
    }
    return Optional.empty();
  }
}
