package dev.veracache;

/** A flush batch that failed for a reason that passes (the database or Kafka down): it stays in flight, retried. */
final class RetryLater extends Exception {
  private static final long serialVersionUID = 1L;

  RetryLater(String message, Throwable cause) {
    super(message, cause);
  }
}
