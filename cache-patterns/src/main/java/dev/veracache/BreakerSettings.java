package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.positive;

import java.time.Duration;

/**
 * The circuit breaker around Redis ({@link VeracacheOptions.Builder#circuitBreaker}), by name instead of by position.
 * Veracache runs it on Resilience4j: a count-based window of the last {@link #windowSize()} calls; once at least
 * {@link #minimumCalls()} of them were made and {@link #failureRatePercent()} of them failed (Redis unreachable,
 * timed out, loading or busy: {@link FailureReason#isUnavailable()}), the breaker opens for {@link #openDuration()},
 * then lets one trial call through. While it is open, reads go to the loader and Redis is not called.
 *
 * <pre>{@code
 * VeracacheOptions.builder("redis://localhost:6379")
 *     .circuitBreaker(BreakerSettings.builder().failureRatePercent(25).openDuration(Duration.ofSeconds(5)).build())
 *     .build();
 * }</pre>
 *
 * <p>Invariants: every instance is valid (the builder refuses a bad value naming the setting and the value) and
 * immutable; unset settings keep their {@code DEFAULT_*}.
 */
public final class BreakerSettings {

  /** Percent of the calls in the window that must fail for the breaker to open. */
  public static final float DEFAULT_FAILURE_RATE_PERCENT = 50;
  /** Calls the window must hold before the failure rate is judged. */
  public static final int DEFAULT_MINIMUM_CALLS = 5;
  /** How many of the latest calls the window holds. */
  public static final int DEFAULT_WINDOW_SIZE = 20;
  /** How long the breaker stays open before a trial call: 1 second. */
  public static final Duration DEFAULT_OPEN_DURATION = Duration.ofSeconds(1);

  private static final BreakerSettings DEFAULTS = builder().build();

  private final float failureRatePercent;
  private final int minimumCalls;
  private final int windowSize;
  private final Duration openDuration;

  private BreakerSettings(Builder b) {
    this.failureRatePercent = b.failureRatePercent;
    this.minimumCalls = b.minimumCalls;
    this.windowSize = b.windowSize;
    this.openDuration = b.openDuration;
  }

  /** Every setting at its {@code DEFAULT_*}. */
  public static BreakerSettings defaults() {
    return DEFAULTS;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.failureRatePercent = failureRatePercent;
    b.minimumCalls = minimumCalls;
    b.windowSize = windowSize;
    b.openDuration = openDuration;
    return b;
  }

  public float failureRatePercent() {
    return failureRatePercent;
  }

  public int minimumCalls() {
    return minimumCalls;
  }

  public int windowSize() {
    return windowSize;
  }

  public Duration openDuration() {
    return openDuration;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BreakerSettings other && failureRatePercent == other.failureRatePercent
        && minimumCalls == other.minimumCalls && windowSize == other.windowSize
        && openDuration.equals(other.openDuration);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(failureRatePercent, minimumCalls, windowSize, openDuration);
  }

  @Override
  public String toString() {
    return "BreakerSettings{failureRatePercent=" + failureRatePercent + ", minimumCalls=" + minimumCalls
        + ", windowSize=" + windowSize + ", openDuration=" + openDuration + "}";
  }

  public static final class Builder {
    private float failureRatePercent = DEFAULT_FAILURE_RATE_PERCENT;
    private int minimumCalls = DEFAULT_MINIMUM_CALLS;
    private int windowSize = DEFAULT_WINDOW_SIZE;
    private Duration openDuration = DEFAULT_OPEN_DURATION;

    private Builder() {}

    /** In (0, 100]. Default {@value BreakerSettings#DEFAULT_FAILURE_RATE_PERCENT}. */
    public Builder failureRatePercent(float percent) {
      check(percent > 0 && percent <= 100, "circuitBreaker failureRatePercent must be in (0, 100], was " + percent);
      this.failureRatePercent = percent;
      return this;
    }

    /** At least 1, at most {@link #windowSize}. Default {@value BreakerSettings#DEFAULT_MINIMUM_CALLS}. */
    public Builder minimumCalls(int calls) {
      this.minimumCalls = (int) positive(calls, "circuitBreaker minimumCalls");
      return this;
    }

    /** At least 1. Default {@value BreakerSettings#DEFAULT_WINDOW_SIZE}. */
    public Builder windowSize(int calls) {
      this.windowSize = (int) positive(calls, "circuitBreaker windowSize");
      return this;
    }

    /** Positive. Default {@link BreakerSettings#DEFAULT_OPEN_DURATION}. */
    public Builder openDuration(Duration openDuration) {
      this.openDuration = positive(openDuration, "circuitBreaker openDuration");
      return this;
    }

    /** @throws IllegalArgumentException when minimumCalls exceeds windowSize: the window could never judge */
    public BreakerSettings build() {
      check(minimumCalls <= windowSize, "circuitBreaker minimumCalls (" + minimumCalls
          + ") must not exceed windowSize (" + windowSize + "): a window of " + windowSize
          + " calls never holds " + minimumCalls);
      return new BreakerSettings(this);
    }
  }
}
