package dev.veracache.demo;

import dev.veracache.FlusherOptions;
import dev.veracache.StockFlusher;
import dev.veracache.StockOptions;
import dev.veracache.Veracache;
import dev.veracache.spring.cdc.CdcInvalidatorLifecycle;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the flash sale's {@link StockFlusher} (it applies every logged sale to {@code shop.stock} exactly once) for
 * the application's lifetime.
 *
 * <p>Invariant: it stops right after the CDC listener ({@link #PHASE}) and before the sale's buyers, the load
 * generator ({@link DemoWorkers}) and the web server; the servers stop only after every lifecycle stopped.
 */
public class StockFlusherLifecycle implements SmartLifecycle {

  /** After the CDC listener ({@link CdcInvalidatorLifecycle#PHASE}), before {@link DemoWorkers#PHASE}. */
  public static final int PHASE = CdcInvalidatorLifecycle.PHASE - 10;

  private final Veracache veracache;
  private final StockOptions options;
  private final ShopDatabase database;
  private volatile StockFlusher flusher;

  StockFlusherLifecycle(Veracache veracache, StockOptions options, ShopDatabase database) {
    this.veracache = veracache;
    this.options = options;
    this.database = database;
  }

  @Override
  public void start() {
    flusher = veracache.stockFlusher(options, FlusherOptions.builder("veracache-demo-stock-flusher").build(),
        database.dataSource(), ShopDatabase::addStock);
  }

  @Override
  public void stop() {
    StockFlusher current = flusher;
    if (current != null) {
      current.close();
    }
  }

  @Override
  public boolean isRunning() {
    StockFlusher current = flusher;
    return current != null && current.isRunning();
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  /** Logged sales not applied yet, or 0 before the start. */
  public long backlog() {
    StockFlusher current = flusher;
    return current == null ? 0 : current.backlog();
  }
}
