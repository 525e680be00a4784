package dev.veracache;

/**
 * A flash-sale take whose units Redis took but whose outcome the buyer cannot be told now: the log did not take the
 * sale in time, took it after its reservation's deadline, or took it while Redis could not confirm that it was in
 * time. The log decides it: the stock flusher applies the sale (outcome {@code APPLIED} in the applied table) or gives
 * its units back (a RELEASE, outcome {@code RELEASED}). Keep {@link #saleId()} to learn which, for example to tell the
 * buyer later; never count it as sold or as not sold before that.
 */
public class SaleInDoubtException extends WriteBehindException {

  private final String saleId;
  private final String item;
  private final long amount;

  public SaleInDoubtException(String message, String saleId, String item, long amount, Throwable cause) {
    super(message, cause);
    this.saleId = saleId;
    this.item = item;
    this.amount = amount;
  }

  /** The sale's id: its row in the applied table ({@code StockOptions.appliedTable}) once the log decided it. */
  public String saleId() {
    return saleId;
  }

  public String item() {
    return item;
  }

  public long amount() {
    return amount;
  }
}
