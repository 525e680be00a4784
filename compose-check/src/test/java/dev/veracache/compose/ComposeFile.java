package dev.veracache.compose;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * docker-compose.yml as the checks read it: parsed by SnakeYAML (never by hand), each service's environment, ports,
 * health check, dependencies, volumes, build and command in the compose specification's short and long forms.
 *
 * <p>Invariants: values are kept as written (with their {@code ${VAR}} references); {@link #interpolate} resolves them
 * the way compose does, from a given variable map ({@code .env}); a service missing a section has an empty one, never
 * null.
 */
final class ComposeFile {

  /** One service of the file. */
  record Service(String name, String image, Map<String, String> environment, List<PortMapping> ports,
      List<String> healthcheck, Map<String, String> dependsOn, List<Volume> volumes, String buildContext,
      String dockerfile, List<String> command) {

    boolean hasHealthcheck() {
      return !healthcheck.isEmpty() && !"NONE".equals(healthcheck.get(0));
    }

    /** The health check's command line as one string. */
    String healthcheckLine() {
      return String.join(" ", healthcheck);
    }
  }

  /** A published port: host port to container port. */
  record PortMapping(String published, String target) {}

  /** A mount: source (a host path or a volume name) to the path in the container. */
  record Volume(String source, String target) {
    boolean isBindMount() {
      return source.startsWith(".") || source.startsWith("/");
    }
  }

  /** ${NAME}, ${NAME:?message}, ${NAME:-default}, $NAME (group 1 and 2: braced name and modifier; group 3: bare). */
  private static final Pattern VARIABLE =
      Pattern.compile("\\$(?:\\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\\}|([A-Za-z_][A-Za-z0-9_]*))");

  final Path path;
  final Map<String, Service> services = new LinkedHashMap<>();
  final Set<String> namedVolumes = new LinkedHashSet<>();
  /** Every string scalar of the file (keys and values), for the variable check. */
  final List<String> scalars = new ArrayList<>();

  private ComposeFile(Path path) {
    this.path = path;
  }

  static ComposeFile read(Path path) throws IOException {
    ComposeFile file = new ComposeFile(path);
    Object root;
    try (Reader reader = Files.newBufferedReader(path)) {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(reader);
    }
    if (!(root instanceof Map<?, ?> top)) {
      throw new IllegalArgumentException(path + ": not a YAML mapping");
    }
    collectScalars(root, file.scalars);
    if (top.get("volumes") instanceof Map<?, ?> volumes) {
      volumes.keySet().forEach(v -> file.namedVolumes.add(String.valueOf(v)));
    }
    if (top.get("services") instanceof Map<?, ?> services) {
      services.forEach((name, body) -> file.services.put(String.valueOf(name),
          service(String.valueOf(name), body instanceof Map<?, ?> m ? m : Map.of())));
    }
    return file;
  }

  private static Service service(String name, Map<?, ?> body) {
    Map<String, String> environment = new LinkedHashMap<>();
    Object env = body.get("environment");
    if (env instanceof Map<?, ?> m) {
      m.forEach((k, v) -> environment.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
    } else if (env instanceof List<?> l) {
      for (Object entry : l) {
        String s = String.valueOf(entry);
        int eq = s.indexOf('=');
        environment.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
      }
    }
    List<PortMapping> ports = new ArrayList<>();
    if (body.get("ports") instanceof List<?> l) {
      for (Object p : l) {
        if (p instanceof Map<?, ?> m) {
          ports.add(new PortMapping(String.valueOf(m.get("published")), String.valueOf(m.get("target"))));
        } else {
          String s = String.valueOf(p).replaceFirst("/(tcp|udp)$", "");
          String[] parts = s.split(":");
          String target = parts[parts.length - 1];
          ports.add(new PortMapping(parts.length > 1 ? parts[parts.length - 2] : "", target));
        }
      }
    }
    List<String> healthcheck = new ArrayList<>();
    if (body.get("healthcheck") instanceof Map<?, ?> hc) {
      Object test = hc.get("test");
      if (Boolean.TRUE.equals(hc.get("disable"))) {
        healthcheck.add("NONE");
      } else if (test instanceof List<?> l) {
        l.stream().skip(l.isEmpty() ? 0 : 1).forEach(t -> healthcheck.add(String.valueOf(t))); // CMD / CMD-SHELL
        if (!l.isEmpty() && "NONE".equals(String.valueOf(l.get(0)))) {
          healthcheck.clear();
          healthcheck.add("NONE");
        }
      } else if (test != null) {
        healthcheck.add(String.valueOf(test));
      }
    }
    Map<String, String> dependsOn = new LinkedHashMap<>();
    Object deps = body.get("depends_on");
    if (deps instanceof List<?> l) {
      l.forEach(d -> dependsOn.put(String.valueOf(d), "service_started"));
    } else if (deps instanceof Map<?, ?> m) {
      m.forEach((k, v) -> dependsOn.put(String.valueOf(k),
          v instanceof Map<?, ?> c && c.get("condition") != null ? String.valueOf(c.get("condition"))
              : "service_started"));
    }
    List<Volume> volumes = new ArrayList<>();
    if (body.get("volumes") instanceof List<?> l) {
      for (Object v : l) {
        if (v instanceof Map<?, ?> m) {
          volumes.add(new Volume(String.valueOf(m.get("source")), String.valueOf(m.get("target"))));
        } else {
          String[] parts = String.valueOf(v).split(":");
          volumes.add(new Volume(parts.length > 1 ? parts[0] : "", parts.length > 1 ? parts[1] : parts[0]));
        }
      }
    }
    String context = null;
    String dockerfile = null;
    Object build = body.get("build");
    if (build instanceof Map<?, ?> m) {
      context = m.get("context") == null ? "." : String.valueOf(m.get("context"));
      dockerfile = m.get("dockerfile") == null ? "Dockerfile" : String.valueOf(m.get("dockerfile"));
    } else if (build != null) {
      context = String.valueOf(build);
      dockerfile = "Dockerfile";
    }
    List<String> command = new ArrayList<>();
    Object cmd = body.get("command");
    if (cmd instanceof List<?> l) {
      l.forEach(c -> command.add(String.valueOf(c)));
    } else if (cmd != null) {
      command.addAll(List.of(String.valueOf(cmd).trim().split("\\s+")));
    }
    return new Service(name, body.get("image") == null ? "" : String.valueOf(body.get("image")), environment, ports,
        healthcheck, dependsOn, volumes, context, dockerfile, command);
  }

  private static void collectScalars(Object node, List<String> into) {
    if (node instanceof Map<?, ?> m) {
      m.forEach((k, v) -> {
        collectScalars(k, into);
        collectScalars(v, into);
      });
    } else if (node instanceof List<?> l) {
      l.forEach(e -> collectScalars(e, into));
    } else if (node instanceof String s) {
      into.add(s);
    }
  }

  /** The names of the variables a value refers to ({@code ${X}}, {@code ${X:?msg}}, {@code $X}; not {@code $$X}). */
  static List<String> variables(String value) {
    List<String> names = new ArrayList<>();
    Matcher m = VARIABLE.matcher(value);
    int from = 0;
    while (m.find(from)) {
      if (m.start() > 0 && escaped(value, m.start())) {
        from = m.start() + 1;
        continue;
      }
      names.add(m.group(1) != null ? m.group(1) : m.group(3));
      from = m.end();
    }
    return names;
  }

  /** Every variable the file refers to, with the first scalar that does. */
  Map<String, String> variableReferences() {
    Map<String, String> refs = new LinkedHashMap<>();
    for (String s : scalars) {
      for (String name : variables(s)) {
        refs.putIfAbsent(name, s);
      }
    }
    return refs;
  }

  /** True when the '$' at {@code index} is escaped by an odd number of '$' before it ({@code $$}). */
  private static boolean escaped(String value, int index) {
    int dollars = 0;
    for (int i = index - 1; i >= 0 && value.charAt(i) == '$'; i--) {
      dollars++;
    }
    return dollars % 2 == 1;
  }

  /** The value as compose passes it to the container, its variables taken from {@code variables}. */
  static String interpolate(String value, Map<String, String> variables) {
    StringBuilder out = new StringBuilder();
    Matcher m = VARIABLE.matcher(value);
    int last = 0;
    while (m.find()) {
      if (escaped(value, m.start())) {
        continue;
      }
      out.append(value, last, m.start());
      String name = m.group(1) != null ? m.group(1) : m.group(3);
      String modifier = m.group(2) == null ? "" : m.group(2);
      String resolved = variables.get(name);
      if ((resolved == null || resolved.isEmpty()) && modifier.startsWith(":-")) {
        resolved = modifier.substring(2);
      }
      out.append(resolved == null ? "" : resolved);
      last = m.end();
    }
    out.append(value.substring(last));
    return out.toString().replace("$$", "$");
  }
}
