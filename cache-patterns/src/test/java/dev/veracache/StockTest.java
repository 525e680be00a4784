package dev.veracache;

import dev.veracache.stack.KafkaServer;
import dev.veracache.testing.FlusherHooks;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the flash-sale tests: the embedded MariaDB, Redis and Kafka broker, a topic (two partitions) and its
 * dead-letter topic per test, a {@link StockTable}, and stock options with short timeouts (a reservation is orphaned
 * after 2 s).
 */
abstract class StockTest extends RealServersTest {

  static final String ITEM = "sku-1";
  static final Duration SETTLED = Duration.ofSeconds(30);

  KafkaServer kafka;
  String topic;
  StockTable stock;

  @BeforeEach
  void startStockFixture(KafkaServer kafka) throws Exception {
    this.kafka = kafka;
    this.topic = "stock-" + namespace;
    kafka.createTopic(topic, 2);
    kafka.createTopic(topic + FlusherOptions.DEFAULT_DEAD_LETTER_SUFFIX, 1);
    this.stock = new StockTable(db, "stock_" + namespace);
  }

  StockOptions.Builder options() {
    return StockOptions.builder(namespace, kafka.bootstrapServers(), topic).sendTimeout(Duration.ofSeconds(1))
        .orphanAfter(Duration.ofSeconds(2)).appliedTable(stock.appliedTable);
  }

  StockFlusher flusher(Veracache client) {
    return flusher(client, FlusherHooks.NONE);
  }

  StockFlusher flusher(Veracache client, FlusherHooks hooks) {
    return client.stockFlusher(options().build(), FlusherOptions.builder("stock-" + namespace)
        .retryBackoff(Duration.ofMillis(50), Duration.ofMillis(400)).hooks(hooks).build(), dataSource(db),
        stock.writer);
  }

  /** Sets the database's stock row, then opens the sale in Redis with the same quantity. */
  FlashSaleStock openSale(Veracache client, int units) throws Exception {
    stock.put(ITEM, units);
    FlashSaleStock sale = client.flashSaleStock(options().build());
    sale.open(ITEM, units);
    return sale;
  }
}
