package dev.veracache.demo;

/** An action that cannot run now (a sale already running, Redis already paused, the listener in the sidecar): 409. */
public class DemoConflictException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public DemoConflictException(String message) {
    super(message);
  }
}
