package dev.veracache.compose;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docker-compose.yml cross-checked against the applications' own configuration, without Docker (unit tier). These
 * machines have no Docker engine: this is what keeps the file honest between runs of {@link ComposeStackIT}.
 *
 * <p>Two subjects: the real repository, and broken copies of its files: each check is proven to fail, naming what is
 * wrong, on a copy with one thing broken.
 */
class ComposeConsistencyTest {

  private static Path repository;
  private static List<AppConfiguration.Declared> sharedMetadata;

  @TempDir
  Path copy;

  @BeforeAll
  static void readMetadata() throws IOException {
    repository = Path.of(System.getProperty("veracache.repository.root", "..")).toAbsolutePath().normalize();
    Path sidecarMetadata = repository.resolve(
        "cdc-sidecar/target/classes/META-INF/spring-configuration-metadata.json");
    assertThat(sidecarMetadata).as("cdc-sidecar's generated metadata: build with -am (./mvnw -B test -pl "
        + "compose-check -am) so cdc-sidecar is compiled first").exists();
    sharedMetadata = AppConfiguration.sharedMetadata();
    assertThat(sharedMetadata).as("configuration metadata on the class path (starter, Spring Boot)")
        .anyMatch(d -> d.name().toString().equals("veracache.redis.uri"))
        .anyMatch(d -> d.name().toString().equals("server.port"));
  }

  private static List<String> allProblems(ComposeConsistency c) throws IOException {
    List<String> problems = new ArrayList<>();
    problems.addAll(c.servicesTheAppsPointAtExist());
    problems.addAll(c.portsMatchServerPort());
    problems.addAll(c.environmentVariablesBindToProperties());
    problems.addAll(c.applicationModes());
    problems.addAll(c.mysqlBinlogSettings());
    problems.addAll(c.databaseGrants());
    problems.addAll(c.envExampleDefinesEveryVariable());
    problems.addAll(c.healthChecksAndStartOrder());
    problems.addAll(c.mountsMatchTheFilesTheServicesRead());
    problems.addAll(c.imagesCopyTheModulesJar());
    problems.addAll(c.mappedTablesExistInTheSchema());
    return problems;
  }

  @Test
  void composeFileMatchesTheSidecarTheDemoAppAndTheDatabaseSetup() throws IOException {
    assertThat(allProblems(new ComposeConsistency(repository, sharedMetadata)))
        .as("docker-compose.yml against cdc-sidecar, demo-app, MySQL and .env.example").isEmpty();
  }

  @Test
  void theCopyTheBreakingTestsStartFromPassesEveryCheck() throws IOException {
    assertThat(allProblems(repositoryCopy())).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Each check, failing on a copy with one thing broken (the red half of every check).

  @Test
  void aHostTheSidecarPointsAtThatIsNoServiceIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "VERACACHE_CDC_DATABASE_HOST: mysql", "VERACACHE_CDC_DATABASE_HOST: mysql-primary");
    replace("docker-compose.yml", "DEMO_KAFKA_BOOTSTRAPSERVERS: kafka:9092",
        "DEMO_KAFKA_BOOTSTRAPSERVERS: kafka:29092");
    assertThat(reread().servicesTheAppsPointAtExist())
        .anyMatch(p -> p.startsWith("cdc-sidecar:") && p.contains("'mysql-primary'")
            && p.contains("environment variable VERACACHE_CDC_DATABASE_HOST"))
        .anyMatch(p -> p.startsWith("demo-app:") && p.contains("port 29092 of service 'kafka'"));
  }

  @Test
  void aDemoDefaultPointingAtNoServiceIsNamedWithItsFile() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml",
        "      SPRING_DATASOURCE_URL: jdbc:mysql://mysql:3306/shop?allowPublicKeyRetrieval=true&useSSL=false\n", "");
    replace("demo-app/src/main/resources/application-compose.yml", "jdbc:mysql://mysql:3306/shop",
        "jdbc:mysql://localhost:3306/shop");
    assertThat(reread().servicesTheAppsPointAtExist()).anyMatch(p -> p.startsWith("demo-app: spring.datasource.url")
        && p.contains("application-compose.yml") && p.contains("'localhost'"));
  }

  @Test
  void aPortThatIsNotTheApplicationsServerPortIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "\"8081:8081\"", "\"8081:9000\"");
    replace("demo-app/src/main/resources/application.yml", "port: 8080", "port: 8085");
    assertThat(reread().portsMatchServerPort())
        .anyMatch(p -> p.startsWith("cdc-sidecar: port mapping 8081:9000"))
        .anyMatch(p -> p.startsWith("demo-app: server.port is 8085"))
        .anyMatch(p -> p.startsWith("demo-app: the health check") && p.contains("localhost:8085"));
  }

  @Test
  void anEnvironmentVariableThatBindsToNoPropertyIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "VERACACHE_CDC_STATEDIRECTORY:", "VERACACHE_CDC_STATE_DIR:");
    replace("docker-compose.yml", "DEMO_KAFKA_BOOTSTRAPSERVERS:", "DEMO_KAFKA_SERVERS:");
    assertThat(reread().environmentVariablesBindToProperties())
        .anyMatch(p -> p.startsWith("cdc-sidecar: environment variable VERACACHE_CDC_STATE_DIR binds to no property"))
        .anyMatch(p -> p.startsWith("demo-app: environment variable DEMO_KAFKA_SERVERS binds to no property"))
        .hasSize(2);
  }

  @Test
  void aMisspeltVariableOfTheKafkaModeSidecarWhichRunsTheSidecarsImageIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "VERACACHE_CDC_KAFKA_TOPICPATTERN:", "VERACACHE_CDC_KAFKA_TOPICPATERN:");
    assertThat(reread().environmentVariablesBindToProperties())
        .anyMatch(p -> p.startsWith("cdc-sidecar-kafka: environment variable VERACACHE_CDC_KAFKA_TOPICPATERN"));
  }

  @Test
  void aSidecarOnTheMariaDbConnectorOrADemoRunningItsOwnListenerIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "VERACACHE_CDC_CONNECTOR: MYSQL", "VERACACHE_CDC_CONNECTOR: MARIADB");
    replace("docker-compose.yml", "VERACACHE_CDC_ENABLED: \"false\"", "VERACACHE_CDC_ENABLED: \"true\"");
    replace("docker-compose.yml", "SPRING_PROFILES_ACTIVE: compose", "SPRING_PROFILES_ACTIVE: default");
    assertThat(reread().applicationModes())
        .anyMatch(p -> p.startsWith("cdc-sidecar: veracache.cdc.connector is MARIADB"))
        .anyMatch(p -> p.startsWith("demo-app: veracache.cdc.enabled is true"))
        .anyMatch(p -> p.startsWith("demo-app: SPRING_PROFILES_ACTIVE does not include 'compose'"));
  }

  @Test
  void aMySqlWithoutFullRowImageOrGtidIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "--binlog-row-image=FULL", "--binlog-row-image=MINIMAL");
    replace("docker-compose.yml", "      - --gtid-mode=ON\n", "");
    replace("docker-compose.yml", "VERACACHE_CDC_SERVERID: 5400", "VERACACHE_CDC_SERVERID: 1");
    assertThat(reread().mysqlBinlogSettings())
        .anyMatch(p -> p.equals("mysql: command option --binlog-row-image=FULL is missing (found: MINIMAL)"))
        .anyMatch(p -> p.equals("mysql: command option --gtid-mode=ON is missing (found: not set)"))
        .anyMatch(p -> p.startsWith("cdc-sidecar: veracache.cdc.server-id 1"));
  }

  @Test
  void aGrantTheCdcUserLacksIsNamed() throws Exception {
    repositoryCopy();
    replace("docker/mysql/20-users.sh", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*", "REPLICATION SLAVE ON *.*");
    replace("docker/mysql/20-users.sh", "GRANT CREATE, INSERT, DELETE ON shop.veracache_cdc_marker",
        "GRANT INSERT, DELETE ON shop.veracache_cdc_marker");
    replace("docker/mysql/20-users.sh", "GRANT SELECT ON shop.* TO '${CDC_DB_USER}'",
        "GRANT SELECT ON other.* TO '${CDC_DB_USER}'");
    assertThat(reread().databaseGrants())
        .anyMatch(p -> p.contains("grant REPLICATION CLIENT ON *.* is missing"))
        .anyMatch(p -> p.contains("grant CREATE ON shop.veracache_cdc_marker is missing"))
        .anyMatch(p -> p.contains("grant SELECT ON shop.* is missing"))
        .allMatch(p -> p.startsWith("CDC user ${CDC_DB_USER"));
  }

  @Test
  void anApplicationUserGrantBeyondDmlOnShopIsNamed() throws Exception {
    repositoryCopy();
    replace("docker/mysql/20-users.sh", "GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO '${APP_DB_USER}'",
        "GRANT SELECT, INSERT, UPDATE, DELETE, DROP ON *.* TO '${APP_DB_USER}'");
    assertThat(reread().databaseGrants())
        .anyMatch(p -> p.startsWith("application user ${APP_DB_USER") && p.contains("grant DROP ON *.*")
            && p.contains("is not DML"))
        .anyMatch(p -> p.contains("is outside its database shop"));
  }

  @Test
  void theDemoLoggingInAsTheCdcUserIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "SPRING_DATASOURCE_USERNAME: ${APP_DB_USER:?",
        "SPRING_DATASOURCE_USERNAME: ${CDC_DB_USER:?");
    assertThat(reread().databaseGrants()).anyMatch(p -> p.startsWith("application user ${CDC_DB_USER")
        && p.contains("grant RELOAD ON *.*") && p.contains("is not DML"));
  }

  @Test
  void aMappedTableOrColumnMissingFromTheSchemaIsNamed() throws Exception {
    repositoryCopy();
    replace("demo-app/src/main/resources/cdc/shop-mappings.yml", "version: version", "version: revision");
    Files.writeString(copy.resolve("demo-app/src/main/resources/cdc/shop-mappings.yml"),
        "  - table: shop.orders\n    namespace: orders\n    keys: [\"{id}\"]\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertThat(reread().mappedTablesExistInTheSchema())
        .anyMatch(p -> p.contains("table shop.product has no column 'revision'"))
        .anyMatch(p -> p.contains("table shop.orders is not created by demo-app/src/main/resources/db/shop-schema.sql"))
        .allMatch(p -> p.contains("no column 'revision'") || p.contains("table shop.orders"));
  }

  @Test
  void aVariableMissingFromEnvExampleOrARealSecretIsNamed() throws Exception {
    repositoryCopy();
    replace(".env.example", "REDIS_PASSWORD=change-me-redis\n", "");
    replace(".gitignore", "\n.env\n", "\n");
    replace(".env.example",
        "# The demo application's database user: SELECT, INSERT, UPDATE, DELETE on shop.* and nothing else.\n", "");
    replace(".env.example", "APP_DB_PASSWORD=change-me-app", "APP_DB_PASSWORD=S3cr3t!");
    replace("docker-compose.yml", "VERACACHE_CDC_DATABASE_PASSWORD: ${CDC_DB_PASSWORD:?set CDC_DB_PASSWORD in .env "
        + "(see .env.example)}", "VERACACHE_CDC_DATABASE_PASSWORD: hunter2");
    assertThat(reread().envExampleDefinesEveryVariable())
        .anyMatch(p -> p.startsWith("variable REDIS_PASSWORD (used in docker-compose.yml"))
        .anyMatch(p -> p.startsWith(".env.example: APP_DB_PASSWORD holds a value that is not a placeholder"))
        .anyMatch(p -> p.equals(".env.example: APP_DB_USER has no comment saying what it is"))
        .anyMatch(p -> p.startsWith(".gitignore does not ignore .env"))
        .anyMatch(p -> p.startsWith("cdc-sidecar: environment variable VERACACHE_CDC_DATABASE_PASSWORD is written"));
  }

  @Test
  void aMissingHealthCheckOrStartConditionIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "      kafka:\n        condition: service_healthy\n",
        "      kafka:\n        condition: service_started\n");
    replace("docker-compose.yml", "    healthcheck:\n      # REDISCLI_AUTH",
        "    x-healthcheck:\n      # REDISCLI_AUTH");
    assertThat(reread().healthChecksAndStartOrder())
        .anyMatch(p -> p.startsWith("redis: no health check"))
        .anyMatch(p -> p.equals(
            "demo-app: depends_on kafka needs condition: service_healthy (found: service_started)"));
  }

  @Test
  void aMappingMountOrStateVolumeThatDoesNotMatchTheSidecarIsNamed() throws Exception {
    repositoryCopy();
    replace("docker-compose.yml", "VERACACHE_CDC_MAPPINGS: /etc/veracache/shop-mappings.yml",
        "VERACACHE_CDC_MAPPINGS: /etc/veracache/mappings.yml");
    replace("docker-compose.yml", "- cdc-state:/var/lib/veracache-cdc", "- cdc-state:/data");
    replace("docker-compose.yml", "10-shop-schema.sql:ro", "30-shop-schema.sql:ro");
    assertThat(reread().mountsMatchTheFilesTheServicesRead())
        .anyMatch(p -> p.startsWith("cdc-sidecar: veracache.cdc.mappings is '/etc/veracache/mappings.yml'"))
        .anyMatch(p -> p.startsWith("cdc-sidecar: veracache.cdc.state-directory is '/var/lib/veracache-cdc'"))
        .anyMatch(p -> p.startsWith("mysql: the users script runs before the schema"));
  }

  @Test
  void aDockerfileCopyingAnotherJarIsNamed() throws Exception {
    repositoryCopy();
    replace("cdc-sidecar/Dockerfile", "ARG JAR=target/veracache-cdc-sidecar-0.1.0-SNAPSHOT.jar",
        "ARG JAR=target/veracache-cdc-sidecar-0.1.0-SNAPSHOT-demo.jar");
    replace("cdc-sidecar/pom.xml", "<artifactId>veracache-cdc-sidecar</artifactId>",
        "<artifactId>veracache-cdc-service</artifactId>");
    assertThat(reread().imagesCopyTheModulesJar())
        .anyMatch(p -> p.startsWith("cdc-sidecar: cdc-sidecar/Dockerfile does not copy "
            + "target/veracache-cdc-service-0.1.0-SNAPSHOT.jar"));
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** The files the checks read, copied from the repository; then checked. */
  private ComposeConsistency repositoryCopy() throws IOException {
    for (String file : List.of("docker-compose.yml", ".env.example", ".gitignore", "pom.xml",
        "docker/mysql/20-users.sh", "docker/connect/register-shop-connector.sh", "demo-app/Dockerfile", "cdc-sidecar/Dockerfile", "cdc-sidecar/pom.xml",
        "cdc-sidecar/src/main/resources/application.yml",
        "cdc-sidecar/target/classes/META-INF/spring-configuration-metadata.json", "demo-app/pom.xml",
        "demo-app/src/main/resources/application.yml", "demo-app/src/main/resources/application-compose.yml",
        ComposeConsistency.SCHEMA, ComposeConsistency.MAPPINGS)) {
      Path to = copy.resolve(file);
      Files.createDirectories(to.getParent());
      Files.copy(repository.resolve(file), to, StandardCopyOption.REPLACE_EXISTING);
    }
    return reread();
  }

  private ComposeConsistency reread() throws IOException {
    return new ComposeConsistency(copy, sharedMetadata);
  }

  /** Breaks the copy: replaces text that must be there (a break that changes nothing would prove nothing). */
  private void replace(String file, String from, String to) throws IOException {
    Path path = copy.resolve(file);
    String text = Files.readString(path);
    assertThat(text).as("%s contains the text this test breaks", file).contains(from);
    Files.writeString(path, text.replace(from, to));
  }
}
