package dev.veracache.demo;

import dev.veracache.FlashSaleStock;
import dev.veracache.Sale;
import dev.veracache.SaleInDoubtException;
import dev.veracache.VeracacheException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.springframework.stereotype.Component;

/**
 * The flash sale: {@code stock} units of a new item, {@code buyers} concurrent buyers each taking one unit at a time
 * with {@link FlashSaleStock#decrementIfEnough} until Redis answers sold out. The stock flusher applies the logged
 * sales to {@code shop.stock}.
 *
 * <p>Invariants: one sale at a time; each sale has its own item (its stock row is written before the sale opens, as
 * {@link FlashSaleStock#open} asks); {@code sold} counts the units the buyers were told they got plus the units of
 * sales in doubt ({@link SaleInDoubtException}: taken, but the buyer could not be told, for example while Redis was
 * paused) that the log then applied; a sale in doubt is never counted as sold or failed before the applied table has
 * its outcome ({@code inDoubt} counts the undecided ones, {@code givenBack} the units the log released). So
 * {@code oversold} ({@code sold - stock} when positive) is what was sold beyond the stock, and {@code settled} means
 * the buyers are done, every sale in doubt is decided and the database applied every sale
 * ({@code dbStock == stock - sold}).
 */
@Component
public class FlashSale {

  static final int MAX_BUYERS = 64;
  static final long MAX_STOCK = 100_000;
  private static final long FAILURE_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final FlashSaleStock stock;
  private final ShopDatabase database;
  private final EventLog events;
  private volatile Run current;
  private volatile boolean stopping;

  FlashSale(FlashSaleStock stock, ShopDatabase database, EventLog events) {
    this.stock = stock;
    this.database = database;
    this.events = events;
  }

  /** One sale's counts. */
  private final class Run {
    final long item;
    final long units;
    final int buyers;
    final AtomicLong sold = new AtomicLong();
    final AtomicLong soldOut = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    /** Sale id to units, of the takes whose outcome the log decides. */
    final Map<String, Long> inDoubt = new ConcurrentHashMap<>();
    final AtomicInteger running;
    final ExecutorService pool;

    Run(long item, long units, int buyers) {
      this.item = item;
      this.units = units;
      this.buyers = buyers;
      this.running = new AtomicInteger(buyers);
      AtomicInteger n = new AtomicInteger();
      this.pool = Executors.newFixedThreadPool(buyers, r -> {
        Thread t = new Thread(r, "demo-buyer-" + item + "-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }

    void buy() {
      String itemKey = String.valueOf(item);
      try {
        while (!stopping) {
          try {
            Sale sale = stock.decrementIfEnough(itemKey, 1);
            if (sale.taken()) {
              sold.incrementAndGet();
            } else {
              soldOut.incrementAndGet();
              return;
            }
          } catch (SaleInDoubtException e) { // units taken, outcome decided by the log: resolved in snapshot()
            inDoubt.put(e.saleId(), e.amount());
            LockSupport.parkNanos(FAILURE_BACKOFF_NANOS);
          } catch (VeracacheException e) { // Redis or Kafka failed: counted, tried again (the sale is still open)
            failed.incrementAndGet();
            LockSupport.parkNanos(FAILURE_BACKOFF_NANOS);
          }
        }
      } finally {
        if (running.decrementAndGet() == 0) {
          pool.shutdown();
          events.add("flash sale of item " + item + " ended: " + sold.get() + " sold of " + units + " by " + buyers
              + " buyers, oversold " + Math.max(0, sold.get() - units) + ", " + failed.get() + " failed attempts, "
              + inDoubt.size() + " in doubt (decided by the log)");
        }
      }
    }
  }

  /** Opens a sale and starts its buyers; returns at once. */
  public synchronized String start(long units, int buyers) {
    if (units < 1 || units > MAX_STOCK) {
      throw new IllegalArgumentException("stock must be between 1 and " + MAX_STOCK + ", was " + units);
    }
    if (buyers < 1 || buyers > MAX_BUYERS) {
      throw new IllegalArgumentException("buyers must be between 1 and " + MAX_BUYERS + ", was " + buyers);
    }
    Run last = current;
    if (last != null && last.running.get() > 0) {
      throw new DemoConflictException("a flash sale (item " + last.item + ") is still running");
    }
    if (stopping) {
      throw new DemoConflictException("the demo is stopping");
    }
    long item = database.newSaleItem(units);
    stock.open(String.valueOf(item), units);
    Run run = new Run(item, units, buyers);
    current = run;
    for (int i = 0; i < buyers; i++) {
      run.pool.execute(run::buy);
    }
    String text = "flash sale of item " + item + " opened: " + units + " units, " + buyers + " buyers";
    events.add(text);
    return text;
  }

  /** The snapshot's {@code sale}, or null before the first sale. */
  public Map<String, Object> snapshot() {
    Run run = current;
    if (run == null) {
      return null;
    }
    boolean running = run.running.get() > 0;
    long sold = run.sold.get();
    long undecided = 0;
    long givenBack = 0;
    Map<String, String> outcomes = database.saleOutcomes(run.inDoubt.keySet());
    for (Map.Entry<String, Long> take : run.inDoubt.entrySet()) {
      String outcome = outcomes.get(take.getKey());
      if (outcome == null) {
        undecided++;
      } else if ("APPLIED".equals(outcome)) {
        sold += take.getValue();
      } else {
        givenBack += take.getValue();
      }
    }
    Long dbStock = database.stock(run.item);
    Map<String, Object> sale = new LinkedHashMap<>();
    sale.put("running", running);
    sale.put("item", run.item);
    sale.put("stock", run.units);
    sale.put("buyers", run.buyers);
    sale.put("sold", sold);
    sale.put("soldOut", run.soldOut.get());
    sale.put("failed", run.failed.get());
    sale.put("inDoubtTakes", run.inDoubt.size());
    sale.put("inDoubt", undecided);
    sale.put("givenBack", givenBack);
    sale.put("oversold", Math.max(0, sold - run.units));
    sale.put("dbStock", dbStock);
    sale.put("settled", !running && undecided == 0 && dbStock != null && dbStock == run.units - sold);
    return sale;
  }

  /** Stops the buyers (shutdown), waiting a little for them to leave. */
  void stop() {
    stopping = true;
    Run run = current;
    if (run != null) {
      run.pool.shutdownNow();
      try {
        run.pool.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
