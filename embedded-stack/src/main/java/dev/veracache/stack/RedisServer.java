package dev.veracache.stack;

/** A Redis server: the embedded one (6.2, RESP3 and client tracking) or an external one. */
public interface RedisServer extends ServerControls {

  String host();

  int port();

  /** {@code redis://host:port}, with the password if one is configured: never log it. */
  String uri();

  /** FLUSHALL. */
  void flushAll();
}
