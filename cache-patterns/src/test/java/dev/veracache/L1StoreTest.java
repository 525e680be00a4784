package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The L1 ticket protocol (race R7) and L1 ages, without a server: an answer enters L1 only if no invalidation of its
 * key, and no change of the tracker's epoch, came while its read was in flight; entries expire by the client's clock.
 */
class L1StoreTest {

  private final FakeTicker ticker = new FakeTicker();
  private final AtomicLong epoch = new AtomicLong();
  private final L1Store l1 = new L1Store(100, Duration.ofMinutes(1), Duration.ofSeconds(10), ticker, epoch::get);

  private Object served(String key) {
    return l1.getSlowly(key, l1.values.getIfPresent(key), Long.MAX_VALUE);
  }

  @Test
  void anAnswerWithNothingInBetweenIsKept() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    assertThat(l1.complete(ticket, "v")).isTrue();
    l1.endRead(ticket);
    assertThat(served("k")).isEqualTo("v");
  }

  @Test
  void anInvalidationDuringTheReadRefusesItsAnswer() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    l1.invalidate("k");
    assertThat(l1.complete(ticket, "old")).as("answer read before the invalidation").isFalse();
    l1.endRead(ticket);
    assertThat(served("k")).isNull();

    L1Store.ReadTicket next = l1.beginRead("k");
    assertThat(l1.complete(next, "new")).as("a read that started after it").isTrue();
    l1.endRead(next);
  }

  @Test
  void anInvalidationOfAnotherKeyDoesNotRefuse() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    l1.invalidate("other");
    assertThat(l1.complete(ticket, "v")).isTrue();
  }

  @Test
  void anEpochChangeDuringTheReadRefusesItsAnswer() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    epoch.incrementAndGet(); // invalidations may have been lost meanwhile
    assertThat(l1.complete(ticket, "v")).isFalse();
    assertThat(served("k")).isNull();
  }

  @Test
  void anInvalidationBetweenTwoOverlappingReadsRefusesTheFirstOnly() {
    L1Store.ReadTicket first = l1.beginRead("k");
    l1.invalidate("k");
    L1Store.ReadTicket second = l1.beginRead("k");
    assertThat(l1.complete(first, "old")).isFalse();
    assertThat(l1.complete(second, "new")).isTrue();
    l1.endRead(first);
    l1.endRead(second);
    assertThat(served("k")).isEqualTo("new");
  }

  @Test
  void aClearRefusesEveryReadInFlight() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    l1.clear();
    assertThat(l1.complete(ticket, "v")).isFalse();
  }

  @Test
  void aNewSiblingShapeTakesItsKeysOutOfL1AndRefusesTheirReadsInFlight() {
    L1Store.ReadTicket cached = l1.beginRead("name:a");
    l1.complete(cached, "a");
    l1.endRead(cached);
    L1Store.ReadTicket inFlight = l1.beginRead("name:b");
    l1.invalidateStartingWith("name:");
    assertThat(served("name:a")).isNull();
    assertThat(l1.complete(inFlight, "b")).isFalse();
  }

  @Test
  void aNotFoundIsKeptApartAndServedAsNotFound() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    assertThat(l1.complete(ticket, null)).isTrue();
    assertThat(served("k")).isSameAs(L1Store.NOT_FOUND);
    assertThat(l1.peek("k")).isSameAs(L1Store.NOT_FOUND);
  }

  @Test
  void noEntryOutlivesItsTtlByTheClientsClock() {
    L1Store.ReadTicket value = l1.beginRead("v");
    l1.complete(value, "v");
    L1Store.ReadTicket notFound = l1.beginRead("n");
    l1.complete(notFound, null);

    ticker.advance(Duration.ofSeconds(11));
    assertThat(served("n")).as("not found after its negative TTL").isNull();
    assertThat(served("v")).isEqualTo("v");
    ticker.advance(Duration.ofSeconds(50));
    assertThat(served("v")).as("value after l1Ttl").isNull();
  }

  @Test
  void whileDegradedOnlyYoungEntriesAreServed() {
    L1Store.ReadTicket ticket = l1.beginRead("k");
    l1.complete(ticket, "v");
    long maxAge = Duration.ofSeconds(1).toNanos();
    assertThat(l1.getSlowly("k", "v", maxAge)).isEqualTo("v");
    ticker.advance(Duration.ofMillis(1001));
    assertThat(l1.getSlowly("k", "v", maxAge)).isNull();
    assertThat(l1.contains("k")).as("an entry too old to serve is dropped").isFalse();
  }
}
