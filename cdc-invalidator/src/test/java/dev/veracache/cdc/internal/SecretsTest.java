package dev.veracache.cdc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Debezium echoes its configuration in some failure messages: what leaves the process is masked, nothing else. */
class SecretsTest {

  @ParameterizedTest(name = "{0} is masked")
  @CsvSource(delimiter = '|', value = {
      "database.password      | hunter2",
      "offset.storage.jdbc.connection.password | s3cret",
      "schema.history.internal.redis.password  | r3dis",
      "some.client.secret     | t0ken"})
  void aPasswordOrSecretInAFailureMessageIsMasked(String key, String secret) {
    String masked = Secrets.mask("Failed: {" + key + "=" + secret + ", database.user=root}");

    assertThat(masked).doesNotContain(secret).contains(key + "=***").contains("database.user=root");
  }
}
