package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

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

  @Test
  void malformedMappingsNameTheTableAndTheField() {
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    keys: ['{id}']\n"))
        .hasMessage("table shop.product: field 'namespace' is missing or empty");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    namespace: p\n"))
        .hasMessage("table shop.product: field 'keys' must be a list of key templates");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    namespace: p\n    keys: ['{id']\n"))
        .hasMessageContaining("table shop.product: key template '{id' has an unclosed '{'");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    namespace: p\n    keys: ['static']\n"))
        .hasMessageContaining("table shop.product: key template 'static' names no column");
    assertThatThrownBy(() -> yaml("tables:\n  - table: product\n    namespace: p\n    keys: ['{id}']\n"))
        .hasMessageContaining("table 'product' must be written database.table");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    namespace: 'a:b'\n    keys: ['{id}']\n"))
        .hasMessageContaining("table shop.product: field 'namespace' ('a:b')");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    namespace: p\n    keys: ['{id}']\n"
        + "    tombstoneTtl: soon\n"))
        .hasMessageContaining("table shop.product: field 'tombstoneTtl': 'soon' is not a duration");
    assertThatThrownBy(() -> yaml("tables:\n  - table: shop.product\n    namespace: p\n    keys: ['{id}']\n"
        + "    colour: blue\n"))
        .hasMessage("table shop.product: unknown field 'colour'");
    assertThatThrownBy(() -> yaml("nothing: here\n")).hasMessageContaining("expected a non-empty list under 'tables'");
    assertThatThrownBy(() -> yaml("tables: [")).hasMessageContaining("test.yml is not valid YAML");
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
