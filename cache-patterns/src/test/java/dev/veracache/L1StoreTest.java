package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
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

  /**
   * A value stored while {@code clear} runs keeps its read start (R18/R5): clear removes each entry together with its
   * own read start, never the read starts apart from the maps, so an answer stored meanwhile is still aged from its
   * read. Found by a hostile review: clear emptied the maps, then all read starts, and a value stored in between was
   * aged from its store. Deterministic: the clearing thread is parked on the clock inside clear, on an entry of another
   * key (a different bin of the map: no lock in common), while the value is stored.
   */
  @Test
  void aValueStoredWhileL1IsBeingClearedKeepsItsReadStart() throws Exception {
    long bound = Duration.ofSeconds(10).toNanos();
    ParkingTicker clock = new ParkingTicker();
    L1Store store = new L1Store(100, Duration.ofMinutes(1), Duration.ofSeconds(10), clock, epoch::get);
    store.limitAgesBy(() -> bound); // the listener is behind: answers are aged from their read
    L1Store.ReadTicket other = store.beginRead("k2");
    assertThat(store.complete(other, "w")).isTrue();
    store.endRead(other);

    Thread clearer = new Thread(store::clear, "clear");
    ParkingTicker.Park inClear = clock.parkThreadWhere(() -> ParkingTicker.onStack(L1Store.class, "clear"));
    inClear.onThread(clearer);
    clearer.start();
    assertThat(inClear.arrived.await(10, TimeUnit.SECONDS)).as("clear is removing k2").isTrue();
    L1Store.ReadTicket read = store.beginRead("k1");
    clock.clock.advance(Duration.ofSeconds(9)); // a slow load
    assertThat(store.complete(read, "v1")).as("stored within the bound of its read").isTrue();
    store.endRead(read);
    inClear.release.countDown();
    clearer.join(10_000);

    clock.clock.advance(Duration.ofSeconds(2)); // read 11 s ago, stored 2 s ago
    assertThat(store.getSlowly("k1", store.values.getIfPresent("k1"), bound))
        .as("a value read longer ago than the bound is not served, whatever clear ran while it was stored").isNull();
  }

}
