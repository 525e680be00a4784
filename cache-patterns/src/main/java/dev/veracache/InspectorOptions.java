package dev.veracache;

import static dev.veracache.Preconditions.check;
import static dev.veracache.Preconditions.positive;

import java.time.Duration;
import java.util.Objects;

/**
 * The consistency inspector's settings ({@link VeracacheOptions.Builder#inspector}); see {@link ConsistencyInspector}.
 * Off by default ({@link #disabled()}: a sample rate of 0).
 *
 * <pre>{@code
 * VeracacheOptions.builder("redis://localhost:6379")
 *     .inspector(InspectorOptions.builder().sampleRate(0.01).window(Duration.ofSeconds(2)).build())
 *     .build();
 * }</pre>
 *
 * <p>Invariants: every instance is valid (the builder refuses a bad value naming the setting and the value) and
 * immutable; unset settings keep their {@code DEFAULT_*}.
 */
public final class InspectorOptions {

  /** The share of cache hits inspected: 0, the inspector is off. */
  public static final double DEFAULT_SAMPLE_RATE = 0;
  /** How long after a mismatch the read is checked again before it counts as stale: 2 seconds. */
  public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(2);
  /** How many inspections may be in flight (queued, re-reading, or waiting for the window) before samples drop. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 64;

  private static final InspectorOptions DISABLED = builder().build();

  final double sampleRate;
  final Duration window;
  final int maxInFlight;

  private InspectorOptions(Builder b) {
    this.sampleRate = b.sampleRate;
    this.window = b.window;
    this.maxInFlight = b.maxInFlight;
  }

  /** The inspector off: every setting at its {@code DEFAULT_*}. */
  public static InspectorOptions disabled() {
    return DISABLED;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings, to change some of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.sampleRate = sampleRate;
    b.window = window;
    b.maxInFlight = maxInFlight;
    return b;
  }

  /** The share of L1 and L2 hits inspected, in [0, 1]; 0 is off. */
  public double sampleRate() {
    return sampleRate;
  }

  /** How long after a mismatch the read is checked again. */
  public Duration window() {
    return window;
  }

  /** How many inspections may be in flight before a sample is dropped. */
  public int maxInFlight() {
    return maxInFlight;
  }

  /** Whether any read is sampled. */
  public boolean enabled() {
    return sampleRate > 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InspectorOptions other && sampleRate == other.sampleRate && window.equals(other.window)
        && maxInFlight == other.maxInFlight;
  }

  @Override
  public int hashCode() {
    return Objects.hash(sampleRate, window, maxInFlight);
  }

  @Override
  public String toString() {
    return "InspectorOptions{sampleRate=" + sampleRate + ", window=" + window + ", maxInFlight=" + maxInFlight + "}";
  }

  public static final class Builder {
    private double sampleRate = DEFAULT_SAMPLE_RATE;
    private Duration window = DEFAULT_WINDOW;
    private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;

    private Builder() {}

    /**
     * The share of reads answered by L1 or L2 that are inspected, in [0, 1] (0.01: one hit in a hundred); 0 turns the
     * inspector off. Default {@value InspectorOptions#DEFAULT_SAMPLE_RATE}.
     */
    public Builder sampleRate(double rate) {
      check(rate >= 0 && rate <= 1, "inspector sampleRate must be in [0, 1], was " + rate); // NaN fails both
      this.sampleRate = rate;
      return this;
    }

    /**
     * How long after a read is found to differ from the database it is checked again; a read whose cache still serves
     * an older (or different) value then counts as stale. Set it to the staleness you promise (the CDC listener's
     * lag, plus the push to L1). Positive. Default {@link InspectorOptions#DEFAULT_WINDOW}.
     */
    public Builder window(Duration window) {
      this.window = positive(window, "inspector window");
      return this;
    }

    /**
     * How many inspections may be in flight at once; past it a sample is dropped and counted
     * ({@code veracache.inspector.dropped}), never queued. At least 1. Default
     * {@value InspectorOptions#DEFAULT_MAX_IN_FLIGHT}.
     */
    public Builder maxInFlight(int max) {
      this.maxInFlight = (int) positive(max, "inspector maxInFlight");
      return this;
    }

    public InspectorOptions build() {
      return new InspectorOptions(this);
    }
  }
}
