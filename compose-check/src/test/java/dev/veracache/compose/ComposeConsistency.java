package dev.veracache.compose;

import dev.veracache.compose.ComposeFile.PortMapping;
import dev.veracache.compose.ComposeFile.Service;
import dev.veracache.compose.ComposeFile.Volume;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The checks of docker-compose.yml against the repository: each returns the problems it found, every problem naming
 * the service, variable, port, file or grant that is wrong. {@link ComposeConsistencyTest} runs them on the real files
 * and on broken copies (each check is shown failing on a copy before it is trusted on the real file).
 *
 * <p>Invariants:
 * <ul>
 *   <li>A check reads the applications' own configuration (YAML, generated metadata, pom, mapping file, schema) and
 *       never a copy of it written into the test: a setting renamed in an application fails here.</li>
 *   <li>The two applications are found by their build context ({@code cdc-sidecar}, {@code demo-app}), not by their
 *       service name, so a renamed service is still checked.</li>
 * </ul>
 */
final class ComposeConsistency {

  static final String SIDECAR = "cdc-sidecar";
  static final String DEMO = "demo-app";
  /** The host ports docker-compose.yml publishes, as the README and the demo's external profile name them. */
  static final Map<String, Integer> CONTRACT_HOST_PORTS = Map.of(DEMO, 8080, SIDECAR, 8081);
  /** Environment variables that are not Spring properties and may be given to an application. */
  static final Set<String> NON_SPRING_VARIABLES = Set.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "TZ");
  static final String SCHEMA = "demo-app/src/main/resources/db/shop-schema.sql";
  static final String MAPPINGS = "demo-app/src/main/resources/cdc/shop-mappings.yml";
  static final String MARKER_TABLE = "veracache_cdc_marker";
  /** Debezium's MySQL connector (documentation, "Setting up MySQL / Creating a user"): global privileges. */
  static final List<String> CDC_GLOBAL_PRIVILEGES = List.of("RELOAD", "SHOW DATABASES", "REPLICATION SLAVE",
      "REPLICATION CLIENT");
  /** cdc-invalidator's README, "Database user": the listener's marker table. */
  static final List<String> CDC_MARKER_PRIVILEGES = List.of("CREATE", "INSERT", "DELETE");
  static final List<String> DML = List.of("SELECT", "INSERT", "UPDATE", "DELETE");

  private static final Pattern GRANT = Pattern.compile(
      "GRANT\\s+(.+?)\\s+ON\\s+(\\S+)\\s+TO\\s+'([^']*)'", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  private static final Pattern CREATE_TABLE = Pattern.compile(
      "CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?((?:`?\\w+`?\\.)?`?\\w+`?)\\s*\\(",
      Pattern.CASE_INSENSITIVE);
  private static final Pattern TEMPLATE_COLUMN = Pattern.compile("\\{([^}:]+)(?::[^}]*)?}");

  final Path root;
  final ComposeFile compose;
  final Map<String, String> envExample;
  final AppConfiguration sidecar;
  final AppConfiguration demo;

  ComposeConsistency(Path root, List<AppConfiguration.Declared> sharedMetadata) throws IOException {
    this.root = root;
    this.compose = ComposeFile.read(root.resolve("docker-compose.yml"));
    this.envExample = readEnvFile(root.resolve(".env.example"));
    this.sidecar = AppConfiguration.of(root, SIDECAR, sharedMetadata);
    this.demo = AppConfiguration.of(root, DEMO, sharedMetadata);
  }

  static Map<String, String> readEnvFile(Path file) throws IOException {
    Map<String, String> vars = new LinkedHashMap<>();
    if (!Files.exists(file)) {
      return vars;
    }
    for (String line : Files.readAllLines(file)) {
      String t = line.trim();
      if (t.isEmpty() || t.startsWith("#") || !t.contains("=")) {
        continue;
      }
      vars.put(t.substring(0, t.indexOf('=')).trim(), t.substring(t.indexOf('=') + 1).trim());
    }
    return vars;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Helpers

  /** The service built from module directory {@code module}. */
  Optional<Service> serviceBuiltFrom(String module) {
    return compose.services.values().stream()
        .filter(s -> s.buildContext() != null && root.resolve(s.buildContext()).normalize()
            .equals(root.resolve(module).normalize()))
        .findFirst();
  }

  private Service requireService(String module, List<String> problems) {
    Optional<Service> s = serviceBuiltFrom(module);
    if (s.isEmpty()) {
      problems.add("no service is built from ./" + module + " (build.context): the " + module
          + " application is missing from docker-compose.yml");
      return null;
    }
    return s.get();
  }

  /** The service's environment with compose's variables resolved from .env.example. */
  Map<String, String> interpolatedEnvironment(Service s) {
    Map<String, String> env = new LinkedHashMap<>();
    s.environment().forEach((k, v) -> env.put(k, ComposeFile.interpolate(v, envExample)));
    return env;
  }

  private static List<String> profiles(Map<String, String> env) {
    String p = env.getOrDefault("SPRING_PROFILES_ACTIVE", "");
    return p.isBlank() ? List.of() : List.of(p.split("\\s*,\\s*"));
  }

  private Optional<AppConfiguration.Value> effective(AppConfiguration app, Service s, String property) {
    Map<String, String> env = interpolatedEnvironment(s);
    return app.effective(property, env, profiles(env));
  }

  /** The applications present: module name to (its configuration, its service); a missing service is a problem. */
  private Map<String, Map.Entry<AppConfiguration, Service>> apps(List<String> problems) {
    Map<String, Map.Entry<AppConfiguration, Service>> apps = new LinkedHashMap<>();
    Service sc = requireService(SIDECAR, problems);
    if (sc != null) {
      apps.put(SIDECAR, Map.entry(sidecar, sc));
    }
    Service d = requireService(DEMO, problems);
    if (d != null) {
      apps.put(DEMO, Map.entry(demo, d));
    }
    return apps;
  }

  /** A host and port an application connects to, and the property that says so. */
  record Endpoint(String host, int port, String property, String origin) {}

  /** The servers each application connects to, from its effective settings. */
  List<Endpoint> endpoints(String module, AppConfiguration app, Service s, List<String> problems) {
    List<Endpoint> out = new ArrayList<>();
    if (SIDECAR.equals(module)) {
      Optional<AppConfiguration.Value> host = effective(app, s, "veracache.cdc.database.host");
      Optional<AppConfiguration.Value> port = effective(app, s, "veracache.cdc.database.port");
      if (host.isEmpty()) {
        problems.add(s.name() + ": veracache.cdc.database.host is not set");
      } else {
        out.add(new Endpoint(host.get().value(), port.map(p -> Integer.parseInt(p.value())).orElse(3306),
            "veracache.cdc.database.host/port", host.get().origin()));
      }
      Optional<AppConfiguration.Value> redis = effective(app, s, "veracache.cdc.redis.uri")
          .or(() -> effective(app, s, "veracache.redis.uri"));
      redis.ifPresentOrElse(r -> out.add(uriEndpoint(r, "veracache.cdc.redis.uri", 6379)),
          () -> problems.add(s.name() + ": veracache.cdc.redis.uri is not set"));
    } else {
      effective(app, s, "spring.datasource.url").ifPresentOrElse(
          url -> out.add(uriEndpoint(new AppConfiguration.Value(url.value().replaceFirst("^jdbc:", ""),
              url.origin()), "spring.datasource.url", 3306)),
          () -> problems.add(s.name() + ": spring.datasource.url is not set"));
      effective(app, s, "veracache.redis.uri").ifPresentOrElse(
          r -> out.add(uriEndpoint(r, "veracache.redis.uri", 6379)),
          () -> problems.add(s.name() + ": veracache.redis.uri is not set"));
      effective(app, s, "demo.kafka.bootstrap-servers").ifPresentOrElse(k -> {
        for (String hp : k.value().split(",")) {
          String[] parts = hp.trim().split(":");
          out.add(new Endpoint(parts[0], parts.length > 1 ? Integer.parseInt(parts[1]) : 9092,
              "demo.kafka.bootstrap-servers", k.origin()));
        }
      }, () -> problems.add(s.name() + ": demo.kafka.bootstrap-servers is not set"));
    }
    return out;
  }

  private static Endpoint uriEndpoint(AppConfiguration.Value v, String property, int defaultPort) {
    URI uri = URI.create(v.value());
    return new Endpoint(uri.getHost(), uri.getPort() < 0 ? defaultPort : uri.getPort(), property, v.origin());
  }

  /** The ports a server service listens on inside the network. */
  Set<Integer> listeningPorts(Service s) {
    Set<Integer> ports = new LinkedHashSet<>();
    String image = s.image().toLowerCase(Locale.ROOT);
    Optional<String> portOption = option(s.command(), "port")
        .or(() -> s.command().stream().flatMap(c -> Stream.of(c.split("\\s+")))
            .dropWhile(t -> !"--port".equals(t)).skip(1).findFirst());
    if (image.startsWith("mysql") || image.startsWith("mariadb")) {
      ports.add(portOption.map(Integer::parseInt).orElse(3306));
    } else if (image.startsWith("redis")) {
      ports.add(portOption.map(Integer::parseInt).orElse(6379));
    } else if (image.contains("kafka")) {
      String listeners = s.environment().getOrDefault("KAFKA_ADVERTISED_LISTENERS", "");
      Matcher m = Pattern.compile(":(\\d+)").matcher(listeners);
      while (m.find()) {
        ports.add(Integer.parseInt(m.group(1)));
      }
    }
    return ports;
  }

  /** The value of {@code --name=value} among the command's arguments; '-' and '_' are the same, as for mysqld. */
  static Optional<String> option(List<String> command, String name) {
    String wanted = name.replace('_', '-').toLowerCase(Locale.ROOT);
    for (String arg : command) {
      for (String token : arg.split("\\s+")) {
        if (token.startsWith("--") && token.contains("=")) {
          String key = token.substring(2, token.indexOf('=')).replace('_', '-').toLowerCase(Locale.ROOT);
          if (key.equals(wanted)) {
            return Optional.of(token.substring(token.indexOf('=') + 1));
          }
        }
      }
    }
    return Optional.empty();
  }

  private Optional<Service> databaseService() {
    return compose.services.values().stream().filter(s -> s.image().toLowerCase(Locale.ROOT).startsWith("mysql"))
        .findFirst();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The checks

  /** Every server an application points at is a service of the file, listening on that port. */
  List<String> servicesTheAppsPointAtExist() {
    List<String> problems = new ArrayList<>();
    apps(problems).forEach((module, app) -> {
      for (Endpoint e : endpoints(module, app.getKey(), app.getValue(), problems)) {
        Service target = compose.services.get(e.host());
        if (target == null) {
          problems.add(app.getValue().name() + ": " + e.property() + " (" + e.origin() + ") points at host '"
              + e.host() + "', which is no service of docker-compose.yml (services: " + compose.services.keySet()
              + ")");
        } else if (!listeningPorts(target).contains(e.port())) {
          problems.add(app.getValue().name() + ": " + e.property() + " (" + e.origin() + ") points at port "
              + e.port() + " of service '" + e.host() + "', which listens on " + listeningPorts(target));
        }
      }
    });
    return problems;
  }

  /** Each application's published port is the contract's, and its container port is its own server.port. */
  List<String> portsMatchServerPort() {
    List<String> problems = new ArrayList<>();
    apps(problems).forEach((module, app) -> {
      Service s = app.getValue();
      String serverPort = effective(app.getKey(), s, "server.port").map(AppConfiguration.Value::value)
          .orElse("8080");
      int contract = CONTRACT_HOST_PORTS.get(module);
      if (!serverPort.equals(Integer.toString(contract))) {
        problems.add(s.name() + ": server.port is " + serverPort + " (" + module
            + "'s application.yml or environment), the contract says " + contract);
      }
      boolean published = false;
      for (PortMapping p : s.ports()) {
        if (p.target().equals(serverPort) && p.published().equals(Integer.toString(contract))) {
          published = true;
        } else {
          problems.add(s.name() + ": port mapping " + p.published() + ":" + p.target()
              + " does not publish server.port " + serverPort + " as host port " + contract);
        }
      }
      if (!published) {
        problems.add(s.name() + ": server.port " + serverPort + " is not published as host port " + contract
            + " (ports: \"" + contract + ":" + serverPort + "\")");
      }
      if (s.hasHealthcheck() && !s.healthcheckLine().contains("localhost:" + serverPort + "/")) {
        problems.add(s.name() + ": the health check (" + s.healthcheckLine() + ") does not ask localhost:"
            + serverPort + ", the application's server.port");
      }
      dockerfile(s).ifPresent(df -> {
        Matcher m = Pattern.compile("(?m)^EXPOSE\\s+(\\d+)").matcher(df);
        if (m.find() && !m.group(1).equals(serverPort)) {
          problems.add(s.name() + ": its Dockerfile EXPOSEs " + m.group(1) + ", server.port is " + serverPort);
        }
      });
    });
    return problems;
  }

  /** Every VERACACHE_*, SPRING_* (any) environment variable of an application binds to a property it has. */
  List<String> environmentVariablesBindToProperties() {
    List<String> problems = new ArrayList<>();
    apps(problems).forEach((module, app) -> {
      Service s = app.getValue();
      interpolatedEnvironment(s).forEach((name, value) -> {
        if (!NON_SPRING_VARIABLES.contains(name) && !app.getKey().bindsToKnownProperty(name, value)) {
          problems.add(s.name() + ": environment variable " + name + " binds to no property of " + module
              + " (none in its configuration metadata or application*.yml; relaxed binding: "
              + "VERACACHE_CDC_STATEDIRECTORY is veracache.cdc.state-directory)");
        }
      });
    });
    // Services that run the sidecar's image without building it (profile kafka's cdc-sidecar-kafka).
    serviceBuiltFrom(SIDECAR).ifPresent(built -> compose.services.values().stream()
        .filter(s -> s.buildContext() == null && built.image() != null && built.image().equals(s.image()))
        .forEach(s -> interpolatedEnvironment(s).forEach((name, value) -> {
          if (!NON_SPRING_VARIABLES.contains(name) && !sidecar.bindsToKnownProperty(name, value)) {
            problems.add(s.name() + ": environment variable " + name + " binds to no property of " + SIDECAR
                + " (whose image it runs)");
          }
        })));
    return problems;
  }

  /** The application modes compose needs: the sidecar reads MySQL; the demo runs the compose profile without CDC. */
  List<String> applicationModes() {
    List<String> problems = new ArrayList<>();
    apps(problems).forEach((module, app) -> {
      Service s = app.getValue();
      if (SIDECAR.equals(module)) {
        String connector = effective(app.getKey(), s, "veracache.cdc.connector").map(AppConfiguration.Value::value)
            .orElse("MARIADB");
        if (!"MYSQL".equalsIgnoreCase(connector)) {
          problems.add(s.name() + ": veracache.cdc.connector is " + connector
              + ", the database service runs MySQL (VERACACHE_CDC_CONNECTOR=MYSQL)");
        }
      } else {
        if (!profiles(interpolatedEnvironment(s)).contains("compose")) {
          problems.add(s.name() + ": SPRING_PROFILES_ACTIVE does not include 'compose' (demo-app's "
              + "application-compose.yml)");
        }
        String cdc = effective(app.getKey(), s, "veracache.cdc.enabled").map(AppConfiguration.Value::value)
            .orElse("false");
        if (!"false".equalsIgnoreCase(cdc)) {
          problems.add(s.name() + ": veracache.cdc.enabled is " + cdc
              + ": in compose the listener is the cdc-sidecar service");
        }
        String embedded = effective(app.getKey(), s, "demo.embedded-stack").map(AppConfiguration.Value::value)
            .orElse("(not set)");
        if (!"false".equalsIgnoreCase(embedded)) {
          problems.add(s.name() + ": demo.embedded-stack is " + embedded + ": in compose the demo uses the stack's "
              + "servers");
        }
      }
    });
    return problems;
  }

  /** MySQL writes the binlog Debezium needs: ROW, FULL row image, GTID on, a server id unlike the listener's. */
  List<String> mysqlBinlogSettings() {
    List<String> problems = new ArrayList<>();
    Optional<Service> db = databaseService();
    if (db.isEmpty()) {
      problems.add("no MySQL service (image mysql:*) in docker-compose.yml");
      return problems;
    }
    Service s = db.get();
    if (!s.image().startsWith("mysql:8.4")) {
      problems.add(s.name() + ": image " + s.image() + ", expected mysql:8.4");
    }
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("binlog-format", "ROW");
    expected.put("binlog-row-image", "FULL");
    expected.put("gtid-mode", "ON");
    expected.put("enforce-gtid-consistency", "ON");
    expected.forEach((option, value) -> {
      Optional<String> actual = option(s.command(), option);
      if (actual.isEmpty() || !actual.get().equalsIgnoreCase(value)) {
        problems.add(s.name() + ": command option --" + option + "=" + value + " is missing (found: "
            + actual.orElse("not set") + ")");
      }
    });
    Optional<String> serverId = option(s.command(), "server-id");
    if (serverId.isEmpty() || "0".equals(serverId.get())) {
      problems.add(s.name() + ": command option --server-id=<non-zero> is missing");
    }
    if (option(s.command(), "log-bin").isEmpty() && !s.command().contains("--log-bin")) {
      problems.add(s.name() + ": command option --log-bin is missing");
    }
    serviceBuiltFrom(SIDECAR).ifPresent(sc -> effective(sidecar, sc, "veracache.cdc.server-id").ifPresent(id -> {
      if (serverId.isPresent() && id.value().equals(serverId.get())) {
        problems.add(sc.name() + ": veracache.cdc.server-id " + id.value() + " (" + id.origin()
            + ") is the MySQL server's own --server-id: a replication client needs an id of its own");
      }
    }));
    return problems;
  }

  /** A grant of the init scripts: privileges on an object to a user (as written: a literal or ${VAR}). */
  record Grant(List<String> privileges, String on, String user, String file) {}

  List<Grant> grants() throws IOException {
    List<Grant> grants = new ArrayList<>();
    Path dir = root.resolve("docker/mysql");
    if (!Files.isDirectory(dir)) {
      return grants;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".sh") || p.toString().endsWith(".sql")).sorted()
          .toList()) {
        StringBuilder sql = new StringBuilder();
        for (String line : Files.readAllLines(f)) {
          String t = line.trim();
          if (!t.startsWith("--") && !t.startsWith("#")) {
            sql.append(line).append('\n');
          }
        }
        Matcher m = GRANT.matcher(sql);
        while (m.find()) {
          List<String> privileges = new ArrayList<>();
          for (String p : m.group(1).split(",")) {
            privileges.add(p.trim().replaceAll("\\s+", " ").toUpperCase(Locale.ROOT));
          }
          grants.add(new Grant(privileges, m.group(2).replace("`", ""), m.group(3),
              root.relativize(f).toString()));
        }
      }
    }
    return grants;
  }

  /**
   * The user name as the init scripts write it, for the user an application logs in with: the scripts read it from
   * the database service's environment, which takes it from the same .env variable as the application.
   */
  private Set<String> scriptSpellings(String applicationValue) {
    Set<String> spellings = new LinkedHashSet<>();
    spellings.add(applicationValue);
    List<String> appVars = ComposeFile.variables(applicationValue);
    databaseService().ifPresent(db -> db.environment().forEach((k, v) -> {
      if (!appVars.isEmpty() && ComposeFile.variables(v).equals(appVars)) {
        spellings.add("${" + k + "}");
        spellings.add("$" + k);
      }
    }));
    return spellings;
  }

  /** A user as the messages name it: its .env variable ({@code ${APP_DB_USER}}) or the name written. */
  private static String label(String written) {
    List<String> vars = ComposeFile.variables(written);
    return vars.isEmpty() ? written : "${" + vars.get(0) + "}";
  }

  private static boolean covers(String on, String database, String table) {
    String o = on.toLowerCase(Locale.ROOT);
    return o.equals("*.*")
        || database != null && (o.equals(database + ".*") || table != null && o.equals(database + "." + table));
  }

  private static boolean has(List<Grant> grants, String privilege, String database, String table) {
    return grants.stream().anyMatch(g -> covers(g.on(), database, table)
        && (g.privileges().contains(privilege) || g.privileges().contains("ALL") || g.privileges()
            .contains("ALL PRIVILEGES")));
  }

  /** The databases the mapping file captures (the marker table lives in the first), else MYSQL_DATABASE. */
  List<String> capturedDatabases() throws IOException {
    List<String> dbs = new ArrayList<>();
    for (String table : mappedTables()) {
      String db = table.contains(".") ? table.substring(0, table.indexOf('.')).toLowerCase(Locale.ROOT) : "";
      if (!db.isEmpty() && !dbs.contains(db)) {
        dbs.add(db);
      }
    }
    if (dbs.isEmpty()) {
      databaseService().map(s -> s.environment().get("MYSQL_DATABASE")).ifPresent(dbs::add);
    }
    return dbs;
  }

  /** The CDC user has what the connector and the listener need; the application user has DML on shop only. */
  List<String> databaseGrants() throws IOException {
    List<String> problems = new ArrayList<>();
    List<Grant> all = grants();
    Optional<Service> sc = serviceBuiltFrom(SIDECAR);
    if (sc.isPresent()) {
      String written = sc.get().environment().getOrDefault("VERACACHE_CDC_DATABASE_USER", "");
      Set<String> spellings = scriptSpellings(written);
      String user = label(written);
      List<Grant> cdc = all.stream().filter(g -> spellings.contains(g.user())).toList();
      if (cdc.isEmpty()) {
        problems.add("CDC user " + user + " (" + sc.get().name()
            + " VERACACHE_CDC_DATABASE_USER) has no GRANT in docker/mysql/");
      }
      for (String p : CDC_GLOBAL_PRIVILEGES) {
        if (!has(cdc, p, null, null)) {
          problems.add("CDC user " + user + ": grant " + p + " ON *.* is missing (Debezium's MySQL connector)");
        }
      }
      List<String> dbs = capturedDatabases();
      for (String db : dbs) {
        if (!has(cdc, "SELECT", db, null)) {
          problems.add("CDC user " + user + ": grant SELECT ON " + db + ".* is missing (a captured database)");
        }
      }
      if (!dbs.isEmpty()) {
        for (String p : CDC_MARKER_PRIVILEGES) {
          if (!has(cdc, p, dbs.get(0), MARKER_TABLE)) {
            problems.add("CDC user " + user + ": grant " + p + " ON " + dbs.get(0) + "." + MARKER_TABLE
                + " is missing (the listener's readiness marker)");
          }
        }
      }
    }
    Optional<Service> demoService = serviceBuiltFrom(DEMO);
    if (demoService.isPresent()) {
      Service d = demoService.get();
      String written = d.environment().getOrDefault("SPRING_DATASOURCE_USERNAME",
          effective(demo, d, "spring.datasource.username").map(AppConfiguration.Value::value).orElse(""));
      Set<String> spellings = scriptSpellings(written);
      String user = label(written);
      List<Grant> app = all.stream().filter(g -> spellings.contains(g.user())).toList();
      String db = effective(demo, d, "spring.datasource.url").map(v -> URI.create(v.value().replaceFirst("^jdbc:", "")))
          .map(u -> u.getPath().replaceFirst("^/", "")).orElse("shop");
      if (app.isEmpty()) {
        problems.add("application user " + user + " (" + d.name() + " SPRING_DATASOURCE_USERNAME) has no GRANT in "
            + "docker/mysql/");
      }
      for (Grant g : app) {
        for (String p : g.privileges()) {
          if (!DML.contains(p)) {
            problems.add("application user " + user + ": grant " + p + " ON " + g.on() + " (" + g.file()
                + ") is not DML (allowed: " + DML + ")");
          }
        }
        if (!g.on().toLowerCase(Locale.ROOT).startsWith(db + ".")) {
          problems.add("application user " + user + ": grant " + String.join(", ", g.privileges()) + " ON " + g.on()
              + " (" + g.file() + ") is outside its database " + db);
        }
      }
      for (String p : DML) {
        if (!has(app, p, db, null)) {
          problems.add("application user " + user + ": grant " + p + " ON " + db + ".* is missing");
        }
      }
    }
    return problems;
  }

  List<String> mappedTables() throws IOException {
    Path file = root.resolve(MAPPINGS);
    List<String> tables = new ArrayList<>();
    if (!Files.exists(file)) {
      return tables;
    }
    for (Map<?, ?> t : mappingEntries(file)) {
      tables.add(String.valueOf(t.get("table")));
    }
    return tables;
  }

  private static List<Map<?, ?>> mappingEntries(Path file) throws IOException {
    List<Map<?, ?>> out = new ArrayList<>();
    Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
    if (doc instanceof Map<?, ?> m && m.get("tables") instanceof List<?> l) {
      for (Object t : l) {
        if (t instanceof Map<?, ?> entry) {
          out.add(entry);
        }
      }
    }
    return out;
  }

  /** Table name (lower case) to its column names (lower case), from the CREATE TABLE statements of the schema. */
  static Map<String, Set<String>> schemaTables(String sql) {
    Map<String, Set<String>> tables = new TreeMap<>();
    String noComments = sql.replaceAll("(?m)--[^\\n]*$", "").replaceAll("(?s)/\\*.*?\\*/", "");
    Matcher m = CREATE_TABLE.matcher(noComments);
    while (m.find()) {
      String name = m.group(1).replace("`", "").toLowerCase(Locale.ROOT);
      Set<String> columns = new LinkedHashSet<>();
      int depth = 1;
      int start = m.end();
      StringBuilder item = new StringBuilder();
      for (int i = start; i < noComments.length() && depth > 0; i++) {
        char c = noComments.charAt(i);
        if (c == '(') {
          depth++;
        } else if (c == ')') {
          depth--;
        }
        if (depth == 0 || c == ',' && depth == 1) {
          String first = item.toString().trim().split("\\s+")[0].replace("`", "").toLowerCase(Locale.ROOT);
          if (!first.isEmpty() && !Set.of("primary", "key", "unique", "index", "constraint", "foreign", "check",
              "fulltext", "spatial").contains(first)) {
            columns.add(first);
          }
          item.setLength(0);
        } else {
          item.append(c);
        }
      }
      tables.put(name, columns);
    }
    return tables;
  }

  /** Every table of the mapping file is created by shop-schema.sql (in MySQL's init database), with its columns. */
  List<String> mappedTablesExistInTheSchema() throws IOException {
    List<String> problems = new ArrayList<>();
    Path schemaFile = root.resolve(SCHEMA);
    Path mappingFile = root.resolve(MAPPINGS);
    if (!Files.exists(schemaFile) || !Files.exists(mappingFile)) {
      problems.add("missing " + (Files.exists(schemaFile) ? MAPPINGS : SCHEMA));
      return problems;
    }
    Map<String, Set<String>> tables = schemaTables(Files.readString(schemaFile));
    String initDatabase = databaseService().map(s -> s.environment().getOrDefault("MYSQL_DATABASE", ""))
        .orElse("").toLowerCase(Locale.ROOT);
    for (Map<?, ?> entry : mappingEntries(mappingFile)) {
      String table = String.valueOf(entry.get("table")).toLowerCase(Locale.ROOT);
      String db = table.contains(".") ? table.substring(0, table.indexOf('.')) : "";
      String bare = table.substring(table.indexOf('.') + 1);
      Set<String> columns = tables.containsKey(table) ? tables.get(table)
          : db.equals(initDatabase) ? tables.get(bare) : null;
      if (columns == null) {
        problems.add(MAPPINGS + ": table " + entry.get("table") + " is not created by " + SCHEMA
            + " (it creates " + tables.keySet() + " in database '" + initDatabase + "', MYSQL_DATABASE)");
        continue;
      }
      List<String> wanted = new ArrayList<>();
      if (entry.get("keys") instanceof List<?> keys) {
        for (Object k : keys) {
          Matcher c = TEMPLATE_COLUMN.matcher(String.valueOf(k));
          while (c.find()) {
            wanted.add(c.group(1).trim());
          }
        }
      }
      if (entry.get("version") != null) {
        wanted.add(String.valueOf(entry.get("version")));
      }
      for (String column : wanted) {
        if (!columns.contains(column.toLowerCase(Locale.ROOT))) {
          problems.add(MAPPINGS + ": table " + entry.get("table") + " has no column '" + column + "' in " + SCHEMA
              + " (columns: " + columns + ")");
        }
      }
    }
    return problems;
  }

  /** .env.example defines every variable compose uses, and uses no other; it holds placeholders, never secrets. */
  List<String> envExampleDefinesEveryVariable() {
    List<String> problems = new ArrayList<>();
    if (envExample.isEmpty()) {
      problems.add(".env.example is missing or defines no variable");
    }
    Map<String, String> refs = compose.variableReferences();
    refs.forEach((name, where) -> {
      if (!envExample.containsKey(name)) {
        problems.add("variable " + name + " (used in docker-compose.yml: '" + where + "') is not defined in "
            + ".env.example");
      }
    });
    try {
      Path gitignore = root.resolve(".gitignore");
      if (!Files.exists(gitignore) || Files.readAllLines(gitignore).stream().map(String::trim)
          .noneMatch(l -> l.equals(".env") || l.equals("/.env"))) {
        problems.add(".gitignore does not ignore .env (the credentials copied from .env.example)");
      }
      problems.addAll(undocumentedVariables(root.resolve(".env.example")));
    } catch (IOException e) {
      problems.add("cannot read .env.example: " + e);
    }
    envExample.forEach((name, value) -> {
      if (!refs.containsKey(name)) {
        problems.add(".env.example defines " + name + ", which docker-compose.yml never uses");
      }
      if (name.matches(".*(PASSWORD|SECRET|TOKEN).*") && !value.startsWith("change-me")) {
        problems.add(".env.example: " + name + " holds a value that is not a placeholder (write change-me-...)");
      }
    });
    for (Service s : compose.services.values()) {
      s.environment().forEach((name, value) -> {
        if (name.matches(".*(PASSWORD|SECRET|TOKEN).*") && ComposeFile.variables(value).isEmpty()) {
          problems.add(s.name() + ": environment variable " + name + " is written in docker-compose.yml; take it "
              + "from .env (${" + name + "})");
        }
        Matcher userInfo = Pattern.compile("://([^@/]*)@").matcher(value);
        if (userInfo.find() && userInfo.group(1).contains(":")
            && ComposeFile.variables(userInfo.group(1).substring(userInfo.group(1).indexOf(':'))).isEmpty()) {
          problems.add(s.name() + ": environment variable " + name + " has a password written in its URI; take it "
              + "from .env");
        }
      });
    }
    return problems;
  }

  /** Variables of the env file without a comment above them (in the block of lines they belong to). */
  static List<String> undocumentedVariables(Path file) throws IOException {
    List<String> problems = new ArrayList<>();
    if (!Files.exists(file)) {
      return problems;
    }
    boolean commented = false;
    for (String line : Files.readAllLines(file)) {
      String t = line.trim();
      if (t.isEmpty()) {
        commented = false;
      } else if (t.startsWith("#")) {
        commented = true;
      } else if (t.contains("=") && !commented) {
        problems.add(".env.example: " + t.substring(0, t.indexOf('=')).trim() + " has no comment saying what it is");
      }
    }
    return problems;
  }

  /** Every service has a health check; each application waits for every server it needs to be healthy. */
  List<String> healthChecksAndStartOrder() {
    List<String> problems = new ArrayList<>();
    for (Service s : compose.services.values()) {
      if (!s.hasHealthcheck()) {
        problems.add(s.name() + ": no health check (depends_on: condition: service_healthy needs one)");
      }
    }
    apps(problems).forEach((module, app) -> {
      Service s = app.getValue();
      Set<String> needed = new LinkedHashSet<>();
      for (Endpoint e : endpoints(module, app.getKey(), s, new ArrayList<>())) {
        if (compose.services.containsKey(e.host())) {
          needed.add(e.host());
        }
      }
      if (DEMO.equals(module)) {
        serviceBuiltFrom(SIDECAR).ifPresent(sc -> needed.add(sc.name())); // invalidations flow before traffic
      }
      for (String n : needed) {
        String condition = s.dependsOn().get(n);
        if (!"service_healthy".equals(condition)) {
          problems.add(s.name() + ": depends_on " + n + " needs condition: service_healthy (found: "
              + (condition == null ? "none" : condition) + ")");
        }
      }
    });
    Optional<Service> sc = serviceBuiltFrom(SIDECAR);
    sc.ifPresent(s -> {
      if (s.healthcheckLine().contains("/actuator/health/readiness")
          && !"true".equals(sidecar.yamlFiles.getOrDefault("application.yml", Map.of())
              .get("management.endpoint.health.probes.enabled"))) {
        problems.add(s.name() + ": the health check asks /actuator/health/readiness but cdc-sidecar's application.yml "
            + "does not set management.endpoint.health.probes.enabled: true");
      }
    });
    return problems;
  }

  /** The files the services read are mounted where they read them, and exist. */
  List<String> mountsMatchTheFilesTheServicesRead() {
    List<String> problems = new ArrayList<>();
    for (Service s : compose.services.values()) {
      for (Volume v : s.volumes()) {
        if (v.isBindMount() && !Files.exists(root.resolve(v.source()).normalize())) {
          problems.add(s.name() + ": mounted file " + v.source() + " does not exist");
        } else if (!v.isBindMount() && !compose.namedVolumes.contains(v.source())) {
          problems.add(s.name() + ": volume " + v.source() + " is not declared under volumes:");
        }
      }
    }
    databaseService().ifPresent(db -> {
      for (String file : List.of("./" + SCHEMA, "./docker/mysql/20-users.sh")) {
        if (db.volumes().stream().noneMatch(v -> v.source().equals(file)
            && v.target().startsWith("/docker-entrypoint-initdb.d/"))) {
          problems.add(db.name() + ": " + file + " is not mounted under /docker-entrypoint-initdb.d/");
        }
      }
      List<String> order = db.volumes().stream().filter(v -> v.target().startsWith("/docker-entrypoint-initdb.d/"))
          .map(Volume::target).sorted().toList();
      int schema = order.indexOf(db.volumes().stream().filter(v -> v.source().equals("./" + SCHEMA))
          .map(Volume::target).findFirst().orElse(""));
      int users = order.indexOf(db.volumes().stream().filter(v -> v.source().endsWith("20-users.sh"))
          .map(Volume::target).findFirst().orElse(""));
      if (schema >= 0 && users >= 0 && schema > users) {
        problems.add(db.name() + ": the users script runs before the schema (init files run in name order): its "
            + "grants name the schema's database");
      }
      Path script = root.resolve("docker/mysql/20-users.sh");
      if (Files.exists(script)) {
        try {
          Matcher m = Pattern.compile("\\$\\{?([A-Z][A-Z0-9_]*)").matcher(Files.readString(script));
          Set<String> standard = Set.of("MYSQL_DATABASE", "MYSQL_ROOT_PASSWORD");
          while (m.find()) {
            if (!db.environment().containsKey(m.group(1)) && !standard.contains(m.group(1))) {
              problems.add(db.name() + ": docker/mysql/20-users.sh reads $" + m.group(1)
                  + ", which is not in the service's environment");
            }
          }
        } catch (IOException e) {
          problems.add("cannot read docker/mysql/20-users.sh: " + e);
        }
      }
    });
    serviceBuiltFrom(SIDECAR).ifPresent(s -> {
      String mappings = effective(sidecar, s, "veracache.cdc.mappings").map(AppConfiguration.Value::value).orElse("");
      if (s.volumes().stream().noneMatch(v -> v.source().equals("./" + MAPPINGS) && v.target().equals(mappings))) {
        problems.add(s.name() + ": veracache.cdc.mappings is '" + mappings + "', where ./" + MAPPINGS
            + " is not mounted");
      }
      String state = effective(sidecar, s, "veracache.cdc.state-directory").map(AppConfiguration.Value::value)
          .orElse("");
      if (s.volumes().stream().noneMatch(v -> !v.isBindMount() && v.target().equals(state))) {
        problems.add(s.name() + ": veracache.cdc.state-directory is '" + state
            + "', which is not a named volume (offsets would be lost with the container)");
      }
    });
    return problems;
  }

  private Optional<String> dockerfile(Service s) {
    if (s.buildContext() == null) {
      return Optional.empty();
    }
    Path df = root.resolve(s.buildContext()).resolve(s.dockerfile()).normalize();
    try {
      return Files.exists(df) ? Optional.of(Files.readString(df)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Each application image copies the jar its module's pom builds (artifactId and version). */
  List<String> imagesCopyTheModulesJar() {
    List<String> problems = new ArrayList<>();
    apps(problems).forEach((module, app) -> {
      Service s = app.getValue();
      Path df = root.resolve(s.buildContext()).resolve(s.dockerfile()).normalize();
      Optional<String> text = dockerfile(s);
      if (text.isEmpty()) {
        problems.add(s.name() + ": Dockerfile " + root.relativize(df) + " does not exist");
        return;
      }
      String jar;
      try {
        jar = "target/" + pomValue(root.resolve(module).resolve("pom.xml"), "artifactId") + "-"
            + pomVersion(root.resolve(module).resolve("pom.xml")) + ".jar";
      } catch (Exception e) {
        problems.add(s.name() + ": cannot read " + module + "/pom.xml: " + e);
        return;
      }
      if (!text.get().contains(jar)) {
        problems.add(s.name() + ": " + root.relativize(df) + " does not copy " + jar + " (the jar " + module
            + "/pom.xml builds)");
      }
    });
    return problems;
  }

  private static String pomValue(Path pom, String tag) throws Exception {
    Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
    for (Node n = doc.getDocumentElement().getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(tag)) {
        return e.getTextContent().trim();
      }
    }
    return "";
  }

  private static String pomVersion(Path pom) throws Exception {
    String own = pomValue(pom, "version");
    if (!own.isEmpty()) {
      return own;
    }
    Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
    Element parent = (Element) doc.getDocumentElement().getElementsByTagName("parent").item(0);
    return parent.getElementsByTagName("version").item(0).getTextContent().trim();
  }
}
