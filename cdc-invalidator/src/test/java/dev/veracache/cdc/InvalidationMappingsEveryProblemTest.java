package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.veracache.cdc.InvalidationMappings.InvalidMappingsException;
import dev.veracache.cdc.InvalidationMappings.Problem;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A YAML mapping file is checked whole: every problem of every entry at once, each value as the file wrote it. */
class InvalidationMappingsEveryProblemTest {

  @Test
  void everyProblemOfEveryEntryIsReportedAtOnceWithTheValueAsWritten() {
    InvalidMappingsException e = catchThrowableOfType(InvalidMappingsException.class, () ->
        InvalidationMappings.fromYaml(new ByteArrayInputStream("""
            tables:
              - table: shop.product
                namespace: "a:b"
                keys: ["{id}"]
                tombstoneTtl: -5s
              - table: orders
                namespace: order
                keys: ["{id"]
                colour: blue
              - table: shop.user
                namespace: user
                keys: ["{id}"]
            """.getBytes(StandardCharsets.UTF_8)), "mappings.yml"));

    assertThat(e.source()).isEqualTo("mappings.yml");
    assertThat(e.problems()).extracting(Problem::entry, Problem::field, Problem::value).containsExactly(
        org.assertj.core.groups.Tuple.tuple("tables[0]", "namespace", "a:b"),
        org.assertj.core.groups.Tuple.tuple("tables[0]", "tombstoneTtl", "-5s"),
        org.assertj.core.groups.Tuple.tuple("tables[1]", "table", "orders"),
        org.assertj.core.groups.Tuple.tuple("tables[1]", "keys", "{id"),
        org.assertj.core.groups.Tuple.tuple("tables[1]", "colour", "blue"));
    assertThat(e.getMessage()).contains("field 'tombstoneTtl' must be positive, was '-5s'").doesNotContain("PT-5S")
        .hasLineCount(5);
  }

  @Test
  void aTableMappedTwiceIsReportedWithTheOtherProblems() {
    InvalidMappingsException e = catchThrowableOfType(InvalidMappingsException.class, () ->
        InvalidationMappings.fromYaml(new ByteArrayInputStream("""
            tables:
              - {table: shop.a, namespace: a, keys: ["{id}"]}
              - {table: shop.a, namespace: b, keys: ["{id}"]}
              - {table: shop.c, namespace: c, keys: []}
            """.getBytes(StandardCharsets.UTF_8)), "twice.yml"));
    assertThat(e.problems()).extracting(Problem::message).containsExactly("table shop.a is mapped twice",
        "table shop.c: field 'keys' needs at least one key template");
  }
}
