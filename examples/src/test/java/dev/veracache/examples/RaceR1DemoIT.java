package dev.veracache.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The main job's claim, checked: the naive cache ends stale, the fenced one fresh. */
@ExtendWith(EmbeddedStackExtension.class)
class RaceR1DemoIT {

  @Test
  void naiveEndsStaleAndFencedEndsFresh(EmbeddedStack stack) throws Exception {
    List<RaceR1Demo.Outcome> outcomes = RaceR1Demo.play(stack);

    assertThat(outcomes.get(0).strategy()).isEqualTo("naive cache-aside");
    assertThat(outcomes.get(0).cached()).isEqualTo("v1");
    assertThat(outcomes.get(0).stale()).isTrue();
    assertThat(outcomes.get(1).strategy()).isEqualTo("Veracache fenced");
    assertThat(outcomes.get(1).cached()).isEqualTo("v2");
    assertThat(outcomes.get(1).stale()).isFalse();
  }
}
