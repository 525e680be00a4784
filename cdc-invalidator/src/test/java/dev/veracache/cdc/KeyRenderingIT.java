package dev.veracache.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.veracache.internal.RedisInvalidator.KeyInvalidation;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Key columns of every type render into the key the application caches: the text Java code renders from the same
 * value. Each row goes through the real binlog and Debezium; the keys are compared with what java.time, BigDecimal,
 * UUID, HexFormat and Base64 produce, and looked up in Redis.
 */
class KeyRenderingIT extends ListenerFixture {

  private InvalidationMappings mapping(String version, String... keys) {
    InvalidationMappings.TableBuilder builder = InvalidationMappings.builder().table(qualified()).namespace(namespace);
    for (String key : keys) {
      builder.key(key);
    }
    if (version != null) {
      builder.version(version);
    }
    return builder.add().build();
  }

  /** Waits until every key is tombstoned at {@code version}, then checks the mapper emitted exactly these keys. */
  private void assertInvalidatedExactly(long version, List<String> keys) {
    await().atMost(WITHIN).until(() -> keys.stream().allMatch(k -> tombstoned(k, version)));
    assertThat(emitted.stream().map(KeyInvalidation::key).distinct().toList())
        .containsExactlyInAnyOrderElementsOf(keys);
  }

  @Test
  void dateTimeDecimalAndUnsignedKeyColumnsRenderAsJavaRendersThem() throws Exception {
    sql("CREATE TABLE " + table + " (id BIGINT UNSIGNED PRIMARY KEY, d DATE, dt DATETIME, dt6 DATETIME(6), "
        + "ts TIMESTAMP(6) NULL, t TIME, t6 TIME(6), price DECIMAL(10,2), y YEAR, version BIGINT NOT NULL)");
    startListener(options(mapping("version", "{id}", "d:{d}", "dt:{dt}", "dt6:{dt6}", "ts:{ts}", "t:{t}",
        "t6:{t6}", "price:{price}", "y:{y}")).build(), recording);

    sql("SET time_zone = '+02:00'", "INSERT INTO " + table + " VALUES (18446744073709551615, '2024-01-02', "
        + "'2024-01-02 03:04:00', '2024-01-02 03:04:05.100000', '2024-01-02 03:04:05.123456', '03:04:00', "
        + "'13:14:15.250000', 10.50, 2024, 1)");

    assertInvalidatedExactly(1, List.of(
        new BigInteger("18446744073709551615").toString(), // above 2^63: not wrapped negative
        "d:" + LocalDate.of(2024, 1, 2), // not days since the epoch
        "dt:" + LocalDateTime.of(2024, 1, 2, 3, 4, 0), // 2024-01-02T03:04: Java drops zero seconds
        "dt6:" + LocalDateTime.of(2024, 1, 2, 3, 4, 5, 100_000_000),
        "ts:" + Instant.parse("2024-01-02T01:04:05.123456Z"), // written at +02:00, an instant in UTC
        "t:" + LocalTime.of(3, 4),
        "t6:" + LocalTime.of(13, 14, 15, 250_000_000),
        "price:" + new BigDecimal("10.50").toPlainString(), // the column's scale kept
        "y:2024"));
  }

  @Test
  void binaryAndCaseInsensitiveTextKeyColumnsRenderWithTheirFormat() throws Exception {
    sql("CREATE TABLE " + table + " (id INT PRIMARY KEY, uid BINARY(16), token VARBINARY(8), "
        + "email VARCHAR(60) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, colour ENUM('red', 'Green'), "
        + "price DECIMAL(10,2), version BIGINT NOT NULL)");
    startListener(options(mapping("version", "uid:{uid:uuid}", "token:{token:hex}", "token64:{token:base64}",
        "email:{email:lower}", "EMAIL:{email:upper}", "asis:{ email : asis }", "colour:{colour}",
        "strip:{price:strip}", "plain:{price:plain}")).build(), recording);

    UUID uid = UUID.fromString("123e4567-e89b-12d3-a456-426614174000");
    sql("INSERT INTO " + table + " VALUES (1, UNHEX('" + uid.toString().replace("-", "") + "'), 0x0102ff, "
        + "'Ann@Example.COM', 'green', 10.50, 1)");

    byte[] token = {1, 2, (byte) 0xff};
    assertInvalidatedExactly(1, List.of(
        "uid:" + uid,
        "token:" + HexFormat.of().formatHex(token),
        "token64:" + Base64.getEncoder().encodeToString(token),
        "email:ann@example.com",
        "EMAIL:ANN@EXAMPLE.COM",
        "asis:Ann@Example.COM",
        "colour:Green", // an ENUM stores its canonical spelling
        "strip:" + new BigDecimal("10.50").stripTrailingZeros().toPlainString(),
        "plain:10.50"));
  }

  @Test
  void keyColumnsThatCannotBeRenderedFaithfullyAreRefusedAtStartNamingTableColumnAndType() throws Exception {
    sql("CREATE TABLE " + table + " (id INT PRIMARY KEY, token VARBINARY(8), code VARCHAR(20) CHARACTER SET latin1 "
        + "COLLATE latin1_swedish_ci, ratio FLOAT, amount DOUBLE, flag BIT(1), shape POINT, uid8 BINARY(8), "
        + "uid16 VARBINARY(16), price DECIMAL(10,2), d DATE, label VARCHAR(10), big DECIMAL(20,0), "
        + "version BIGINT NOT NULL)");

    assertRefused("{token}", "version", "column 'token' (varbinary(8)) is binary", "{token:hex}");
    assertRefused("{code}", "version", "column 'code' (varchar(20) collate latin1_swedish_ci) has a "
        + "case-insensitive collation", "{code:lower}", "{code:asis}");
    assertRefused("{ratio}", "version", "column 'ratio' (float) cannot be a key column");
    assertRefused("{amount}", "version", "column 'amount' (double) cannot be a key column");
    assertRefused("{flag}", "version", "column 'flag' (bit(1)) cannot be a key column");
    assertRefused("{shape}", "version", "column 'shape' (point) cannot be a key column");
    assertRefused("{uid8:uuid}", "version", "column 'uid8' (binary(8)): format 'uuid' needs a BINARY(16)");
    assertRefused("{uid16:uuid}", "version", "column 'uid16' (varbinary(16)): format 'uuid' needs a BINARY(16)");
    assertRefused("{price:lower}", "version", "column 'price' (decimal(10,2)): format 'lower' does not apply to "
        + "a decimal column");
    assertRefused("{d:hex}", "version", "column 'd' (date): format 'hex' does not apply to a date column");
    assertRefused("{id}", "label", "field 'version' names column 'label' of type varchar(10)",
        "a version column must be an integer type");
    assertRefused("{id}", "big", "field 'version' names column 'big' of type decimal(20,0)");
  }

  private void assertRefused(String key, String version, String... messageParts) {
    CdcOptions options = options(mapping(version, key)).build();
    assertThatThrownBy(() -> closeables.push(CdcInvalidator.start(options)))
        .as("key template %s, version %s", key, version)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("table " + qualified() + ": ")
        .hasMessageContainingAll(messageParts);
  }

  @Test
  void aBigintUnsignedVersionAboveLongMaxStopsTheListenerNamingTableColumnAndValue() throws Exception {
    sql("CREATE TABLE " + table + " (id INT PRIMARY KEY, version BIGINT UNSIGNED NOT NULL)");
    CdcInvalidator cdc = startListener(options(mapping("version", "{id}")).build(), recording);
    sql("INSERT INTO " + table + " VALUES (1, 7)");
    await().atMost(WITHIN).until(() -> tombstoned("1", 7));

    sql("UPDATE " + table + " SET version = 18446744073709551615 WHERE id = 1");
    await().atMost(WITHIN).until(() -> cdc.failure() != null);
    assertThat(cdc.failure().getMessage()).contains("table " + qualified())
        .contains("version column 'version'").contains("18446744073709551615");
    assertThat(cdc.isLive()).isFalse();
    assertThat(tombstoned("1", 7)).as("nothing was fenced with a wrapped version").isTrue();
    assertThat(emitted).as("the overflowing change emitted nothing").hasSize(1);
  }
}
