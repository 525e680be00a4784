package dev.veracache.sidecar;

/**
 * A setting, a file it names, or the database does not let the sidecar start. Carries what a person needs: what is
 * wrong (naming the setting, file, entry, field and the value as written) and what to do. Reported by
 * {@link SidecarFailureAnalyzer} as the first thing printed, without a stack trace.
 */
public class SidecarConfigurationException extends RuntimeException {

  private final String action;

  public SidecarConfigurationException(String description, String action) {
    this(description, action, null);
  }

  public SidecarConfigurationException(String description, String action, Throwable cause) {
    super(description, cause);
    this.action = action;
  }

  /** What to do about it. */
  public String action() {
    return action;
  }
}
