package dev.veracache.testing;

/**
 * <b>An unsupported test seam</b> (it may change or go in any release): the point of a flash-sale decrement where a
 * crash matters, so a test can kill the buyer exactly there. Production code leaves it at {@link #NONE}
 * ({@code StockOptions.Builder.hooks}). Runs on the buyer's thread.
 */
public interface StockHooks {

  StockHooks NONE = new StockHooks() {};

  /** Redis took the units (reservation {@code id} is pending); the DECREMENT is not written to the log yet. */
  default void afterUnitsTaken(String item, String id) {}
}
