package dev.veracache.spring.cdc;

/**
 * A setting, a file it names, or the database does not let the CDC listener start. Carries what a person needs: what
 * is wrong (naming the setting, file, entry, field and the value as written) and what to do. Reported by
 * {@link CdcFailureAnalyzer} as the first thing printed, without a stack trace.
 */
public class CdcConfigurationException extends RuntimeException {

  private final String action;

  public CdcConfigurationException(String description, String action) {
    this(description, action, null);
  }

  public CdcConfigurationException(String description, String action, Throwable cause) {
    super(description, cause);
    this.action = action;
  }

  /** What to do about it. */
  public String action() {
    return action;
  }
}
