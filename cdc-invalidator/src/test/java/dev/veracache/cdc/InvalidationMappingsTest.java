package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class InvalidationMappingsTest {

  private static InvalidationMappings yaml(String text) {
    return InvalidationMappings.fromYaml(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), "test.yml");
  }

  @Test
  void yamlAndBuilderDescribeTheSameMapping() {
    InvalidationMappings fromYaml = yaml("""
        tables:
          - table: shop.product
            namespace: product
            keys: ["{id}", "sku:{sku}"]
            version: version
            tombstoneTtl: 90s
        """);
    TableMapping mapping = fromYaml.forTable("shop", "product");
    assertThat(mapping.namespace()).isEqualTo("product");
    assertThat(mapping.keyTemplates()).containsExactly("{id}", "sku:{sku}");
    assertThat(mapping.versionColumn()).isEqualTo("version");
    assertThat(mapping.tombstoneTtl()).isEqualTo(Duration.ofSeconds(90));
    assertThat(fromYaml.databases()).containsExactly("shop");
    assertThat(fromYaml.forTable("shop", "order")).isNull();

    InvalidationMappings built = InvalidationMappings.builder()
        .table("shop.product").namespace("product").key("{id}").key("sku:{sku}").version("version")
        .tombstoneTtl(Duration.ofSeconds(90)).add().build();
    assertThat(built.forTable("shop", "product").toString()).isEqualTo(mapping.toString());
  }

  /** One malformed mapping file: what is wrong in it, the file, and the message that must name it. */
  private record Malformed(String whatIsWrong, String yaml, String message, boolean wholeMessage) {
    @Override
    public String toString() {
      return whatIsWrong;
    }
  }

  private static Malformed exactly(String whatIsWrong, String yaml, String message) {
    return new Malformed(whatIsWrong, yaml, message, true);
  }

  private static Malformed containing(String whatIsWrong, String yaml, String message) {
    return new Malformed(whatIsWrong, yaml, message, false);
  }

  static Stream<Malformed> malformedMappings() {
    return Stream.of(
        exactly("no namespace", "tables:\n  - table: shop.product\n    keys: ['{id}']\n",
            "table shop.product: field 'namespace' is missing or empty"),
        exactly("no keys", "tables:\n  - table: shop.product\n    namespace: p\n",
            "table shop.product: field 'keys' must be a list of key templates"),
        containing("an unclosed placeholder",
            "tables:\n  - table: shop.product\n    namespace: p\n    keys: ['{id']\n",
            "table shop.product: key template '{id' has an unclosed '{'"),
        containing("a key naming no column",
            "tables:\n  - table: shop.product\n    namespace: p\n    keys: ['static']\n",
            "table shop.product: key template 'static' names no column"),
        containing("a table without its database",
            "tables:\n  - table: product\n    namespace: p\n    keys: ['{id}']\n",
            "table 'product' must be written database.table"),
        containing("a namespace with a colon",
            "tables:\n  - table: shop.product\n    namespace: 'a:b'\n    keys: ['{id}']\n",
            "table shop.product: field 'namespace' ('a:b')"),
        containing("a tombstone lifetime that is no duration",
            "tables:\n  - table: shop.product\n    namespace: p\n    keys: ['{id}']\n    tombstoneTtl: soon\n",
            "table shop.product: field 'tombstoneTtl': 'soon' is not a duration"),
        exactly("an unknown field",
            "tables:\n  - table: shop.product\n    namespace: p\n    keys: ['{id}']\n    colour: blue\n",
            "table shop.product: unknown field 'colour'"),
        containing("no tables list", "nothing: here\n", "expected a non-empty list under 'tables'"),
        containing("text that is not YAML", "tables: [", "test.yml is not valid YAML"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedMappings")
  void aMalformedMappingIsRefusedNamingTheTableAndTheField(Malformed malformed) {
    var thrown = assertThatThrownBy(() -> yaml(malformed.yaml()));
    if (malformed.wholeMessage()) {
      thrown.hasMessage(malformed.message());
    } else {
      thrown.hasMessageContaining(malformed.message());
    }
  }

  @Test
  void aPlaceholderMayNameAFormatAndAnUnknownFormatIsRefusedNamingTableTemplateAndFormat() {
    InvalidationMappings mappings = yaml("tables:\n  - table: shop.user\n    namespace: user\n"
        + "    keys: ['{email:lower}', 'id:{uid:uuid}', '{tenant}:{name : asis}']\n");
    assertThat(mappings.forTable("shop", "user").keyTemplates())
        .containsExactly("{email:lower}", "id:{uid:uuid}", "{tenant}:{name : asis}");
    assertThat(mappings.forTable("shop", "user").keys().get(2).columns()).containsExactly("tenant", "name");

    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.user\n    namespace: user\n    keys: ['{email:camel}']\n"))
        .hasMessage("table shop.user: key template '{email:camel}' gives column 'email' the unknown format 'camel'; "
            + "the formats are lower, upper, asis, hex, base64, uuid, plain, strip");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.user\n    namespace: user\n    keys: ['{:lower}']\n"))
        .hasMessageContaining("table shop.user: key template '{:lower}' has an empty or nested column reference");
  }
}
