package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.notNull;

import dev.veracache.testing.FlusherHooks;
import java.time.Duration;

/**
 * Settings of a {@link WriteBehindFlusher}: its Kafka consumer group, the batch size, the retry backoff while the
 * database is down or refusing, and the dead-letter topic.
 */
public final class FlusherOptions {

  /** At most this many log records per database transaction. */
  public static final int DEFAULT_MAX_BATCH_SIZE = 500;
  /** First wait after a failed batch; it doubles per failure up to {@link #DEFAULT_MAX_RETRY_BACKOFF}. */
  public static final Duration DEFAULT_INITIAL_RETRY_BACKOFF = Duration.ofMillis(100);
  public static final Duration DEFAULT_MAX_RETRY_BACKOFF = Duration.ofSeconds(10);
  /** The dead-letter topic is the log's name with this suffix unless set. */
  public static final String DEFAULT_DEAD_LETTER_SUFFIX = ".dlt";

  final String groupId;
  final int maxBatchSize;
  final Duration initialRetryBackoff;
  final Duration maxRetryBackoff;
  final String deadLetterTopic; // null: the log's topic + DEFAULT_DEAD_LETTER_SUFFIX
  final FlusherHooks hooks;

  private FlusherOptions(Builder b) {
    this.hooks = b.hooks;
    this.groupId = b.groupId;
    this.maxBatchSize = b.maxBatchSize;
    this.initialRetryBackoff = b.initialRetryBackoff;
    this.maxRetryBackoff = b.maxRetryBackoff;
    this.deadLetterTopic = b.deadLetterTopic;
  }

  /** @param groupId the Kafka consumer group; flushers of one log share it and split its partitions */
  public static Builder builder(String groupId) {
    return new Builder(groupId);
  }

  String deadLetterTopic(String logTopic) {
    return deadLetterTopic != null ? deadLetterTopic : logTopic + DEFAULT_DEAD_LETTER_SUFFIX;
  }

  /** Builds {@link FlusherOptions}. */
  public static final class Builder {
    private final String groupId;
    private int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
    private Duration initialRetryBackoff = DEFAULT_INITIAL_RETRY_BACKOFF;
    private Duration maxRetryBackoff = DEFAULT_MAX_RETRY_BACKOFF;
    private String deadLetterTopic;
    private FlusherHooks hooks = FlusherHooks.NONE;

    private Builder(String groupId) {
      this.groupId = notNull(groupId, "groupId");
      check(!groupId.isBlank(), "groupId must not be blank");
    }

    public Builder maxBatchSize(int maxBatchSize) {
      check(maxBatchSize >= 1 && maxBatchSize <= 100_000, "maxBatchSize must be 1 to 100000, was " + maxBatchSize);
      this.maxBatchSize = maxBatchSize;
      return this;
    }

    public Builder retryBackoff(Duration initial, Duration max) {
      notNull(initial, "initial");
      notNull(max, "max");
      check(!initial.isNegative() && !initial.isZero(), "retryBackoff initial must be positive, was " + initial);
      check(max.compareTo(initial) >= 0, "retryBackoff max (" + max + ") must be at least initial (" + initial + ")");
      this.initialRetryBackoff = initial;
      this.maxRetryBackoff = max;
      return this;
    }

    /** Where records that can never be applied go, with the error; must exist. Default: the log's name + ".dlt". */
    public Builder deadLetterTopic(String deadLetterTopic) {
      this.deadLetterTopic = notNull(deadLetterTopic, "deadLetterTopic");
      return this;
    }

    /** Test seam: callbacks at the crash points of a flush; default {@link FlusherHooks#NONE}. */
    public Builder hooks(FlusherHooks hooks) {
      this.hooks = notNull(hooks, "hooks");
      return this;
    }

    public FlusherOptions build() {
      return new FlusherOptions(this);
    }
  }
}
