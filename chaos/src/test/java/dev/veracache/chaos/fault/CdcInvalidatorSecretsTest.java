package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.chaos.check.RedisReader;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The listener's own JVM given a Redis Cluster: every seed URI and its user info are masked, as one URI's are. */
class CdcInvalidatorSecretsTest {

  @Test
  void everySeedOfAClusterAndItsUserInfoAreMasked() {
    String cluster = RedisReader.clusterAddress(List.of("redis://app:pw-one@h1:7000", "redis://:pw-two@h2:7001"));
    CdcInvalidatorProcess.Spec spec = new CdcInvalidatorProcess.Spec("db", 3306, "user", "db-secret", "d", "t", "ns",
        List.of("{k:asis}"), null, 1, "l", Path.of("/tmp/state"), cluster);
    String masked = spec.mask("seeds " + cluster + "; node redis://:pw-two@h2:7001 refused app:pw-one; db-secret");
    assertThat(masked).doesNotContain("pw-one", "pw-two", "db-secret").contains("seeds ***");
    assertThat(CdcInvalidatorMain.redisSecrets("redis://:pw@h:6379")).contains("redis://:pw@h:6379", ":pw");
  }
}
