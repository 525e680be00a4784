package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;

import dev.veracache.internal.FenceProtocol;
import dev.veracache.internal.FenceProtocol.StockTake;
import dev.veracache.internal.L2Failure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flash-sale stock written behind: a buyer takes units in Redis atomically (never below zero) and the sale is logged to
 * Kafka before the buyer is told; a {@link StockFlusher} applies the logged sales to the database exactly once each.
 *
 * <p>Invariants:
 * <ul>
 *   <li><b>Never oversold</b>: units are taken by one Lua script that checks and decrements ({@code
 *       stock_decrement.lua}); the database only ever subtracts what Redis granted.</li>
 *   <li><b>A sale the buyer was told about is in the log</b>: {@link #decrementIfEnough} returns true only after Kafka
 *       acknowledged the DECREMENT ({@code acks=all}, idempotent producer).</li>
 *   <li><b>Each sale is applied once</b>: its id is recorded in the database in the same transaction as the stock
 *       change; a replay finds it and changes nothing.</li>
 *   <li><b>Units of a buyer that died are given back</b>: the reservation stays pending in Redis until the flusher
 *       settles it; one still pending after {@code orphanAfter} (its buyer died between Redis and the log, or the log
 *       refused it) makes the flusher write a RELEASE behind whatever the buyer may have written: if the DECREMENT
 *       is in the log first it stands, otherwise the units go back and a late DECREMENT is ignored. A buyer is told of
 *       its sale only if the log acknowledged it before the reservation's deadline (by Redis's clock), so before any
 *       RELEASE of it.</li>
 * </ul>
 */
public final class FlashSaleStock implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FlashSaleStock.class);

  private final StockOptions options;
  private final FenceProtocol fence;
  private final KafkaProducer<String, byte[]> producer;
  private final String name;
  private final Counter taken;
  private final Counter soldOut;
  private final Counter notLogged;

  FlashSaleStock(StockOptions options, FenceProtocol fence, MeterRegistry registry, String client) {
    this.options = options;
    this.fence = fence;
    this.name = "stock '" + options.namespace + "'";
    KafkaClients.checkTopics(options.logSettings(), List.of(options.topic));
    this.producer = new KafkaProducer<>(KafkaClients.producer(options.logSettings()), new StringSerializer(),
        new ByteArraySerializer());
    this.taken = counter(registry, client, "taken");
    this.soldOut = counter(registry, client, "sold_out");
    this.notLogged = counter(registry, client, "not_logged");
  }

  private Counter counter(MeterRegistry registry, String client, String result) {
    return Counter.builder("veracache.stock.decrements").tags("client", client, "stock", options.namespace, "result",
        result).description("Flash-sale decrements by outcome").register(registry);
  }

  /**
   * Opens (or reopens) the sale of {@code item} with {@code quantity} units in Redis; reservations of an earlier sale
   * of the item are dropped. The database's stock row must say the same quantity before buyers come.
   */
  public void open(String item, long quantity) {
    checkItem(item);
    check(quantity >= 0, name + ": quantity must be >= 0, was " + quantity);
    fence.stockOpen(options.counterKey(item), options.pendingKey(item), options.itemsKey(), item, quantity);
  }

  /** Units of {@code item} left in Redis (taken units leave at once), or -1 when its sale is not open. */
  public long available(String item) {
    checkItem(item);
    return fence.stockLeft(options.counterKey(item));
  }

  /**
   * Takes {@code amount} units of {@code item} if that many are left, and logs the sale.
   *
   * @return once the sale is in the log (it will reach the database), a taken {@link Sale} with its id; when fewer
   *     units are left, a sale not taken (nothing was written)
   * @throws IllegalStateException when the sale of the item is not open
   * @throws WriteBehindException when Redis cannot be reached: nothing sold (a take Redis ran after the call gave up
   *     is given back after {@code orphanAfter})
   * @throws SaleInDoubtException (a {@code WriteBehindException}) when the units were taken but the log did not take
   *     the sale in {@code sendTimeout} (the units stay reserved until the flusher gives them back, after
   *     {@code orphanAfter}), took it only after the reservation's deadline (a RELEASE may be ahead of it), or took it
   *     while Redis could not confirm it was in time: the buyer is never told of a sale that may be given back; the
   *     log decides it, and its id ({@link SaleInDoubtException#saleId()}) shows the outcome in the applied table
   */
  public Sale decrementIfEnough(String item, long amount) {
    checkItem(item);
    check(amount >= 1, name + ": amount must be >= 1, was " + amount);
    String id = UUID.randomUUID().toString();
    StockTake take;
    try {
      take = fence.stockDecrement(options.counterKey(item), options.pendingKey(item), amount, id,
          options.orphanAfter.toMillis());
    } catch (L2Failure e) {
      // A take Redis ran after this call gave up (a timeout while it was paused) leaves a reservation that was never
      // logged: the flusher's reaper gives its units back after orphanAfter.
      throw new WriteBehindException(name + ": cannot take " + amount + " of item '" + item + "': Redis failed ("
          + e.getMessage() + "); nothing was sold (if Redis ran the take after this call gave up, its units are given "
          + "back after " + options.orphanAfter + ")", e);
    }
    if (!take.open()) {
      throw new IllegalStateException(name + ": the sale of item '" + item + "' is not open (FlashSaleStock.open)");
    }
    if (!take.taken()) {
      soldOut.increment();
      return new Sale(false, id, take.left());
    }
    options.hooks.afterUnitsTaken(item, id);
    StockEntry entry = new StockEntry(options.namespace, item, StockEntry.Operation.DECREMENT, id, amount, null);
    try {
      producer.send(new ProducerRecord<>(options.topic, null, item, null, entry.headers()))
          .get(options.sendTimeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      notLogged.increment();
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      log.warn("{}: sale {} of {} x '{}' not logged by Kafka at {}: {}; the units stay reserved until the flusher "
          + "gives them back", name, id, amount, item, options.bootstrapServers, cause.toString());
      throw new SaleInDoubtException(name + ": sale " + id + " of " + amount + " x '" + item + "' not logged by Kafka at "
          + options.bootstrapServers + ": " + cause + "; the units are given back after " + options.orphanAfter
          + " unless the log took it after all", id, item, amount, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SaleInDoubtException(name + ": interrupted while logging sale " + id + " of '" + item + "'; its "
          + "outcome is decided in the log", id, item, amount, e);
    }
    boolean inTime;
    try {
      inTime = fence.stockConfirm(take.deadlineMillis());
    } catch (L2Failure e) {
      notLogged.increment();
      throw new SaleInDoubtException(name + ": sale " + id + " of " + amount + " x '" + item + "' is logged but "
          + "Redis could not confirm it was in time (" + e.getMessage() + "); its outcome is decided in the log", id, item,
          amount, e);
    }
    if (!inTime) {
      // The log took the sale after its reservation's deadline: a RELEASE may be ahead of it, giving the units back.
      notLogged.increment();
      throw new SaleInDoubtException(name + ": sale " + id + " of " + amount + " x '" + item + "' reached the log "
          + "after its reservation expired (" + options.orphanAfter + "); it may have been given back: not confirmed", id,
          item, amount, null);
    }
    taken.increment();
    return new Sale(true, id, take.left());
  }

  private void checkItem(String item) {
    notNull(item, "item");
    check(!item.isEmpty() && item.length() <= 200 && item.indexOf('{') < 0 && item.indexOf('}') < 0, name
        + ": item '" + item + "' must be 1 to 200 characters without '{' or '}'");
  }

  @Override
  public void close() {
    producer.close(options.sendTimeout);
  }
}
