package dev.veracache.stack;

/** Controls of a server this JVM did not start: each one says so. */
abstract class ExternalServer implements ServerControls {

  private final String description;

  ExternalServer(String description) {
    this.description = description;
  }

  /** The error each control of an external server throws; {@code action} names the control. */
  final UnsupportedOperationException external(String action) {
    return new UnsupportedOperationException("cannot " + action + " " + description
        + ": it is an external server (configured by environment), not started by this JVM");
  }

  @Override
  public final boolean controllable() {
    return false;
  }

  @Override
  public final void stop() {
    throw external("stop");
  }

  @Override
  public final void start() {
    throw external("start");
  }

  @Override
  public final void restart() {
    throw external("restart");
  }

  @Override
  public final void pause() {
    throw external("pause");
  }

  @Override
  public final void resume() {
    throw external("resume");
  }

  @Override
  public final boolean isRunning() {
    return true;
  }

  @Override
  public final boolean isPaused() {
    return false;
  }

  @Override
  public final long pid() {
    return -1;
  }
}
