package dev.veracache.spring.cdc;

import java.nio.file.Path;

/**
 * Where the CDC listener reads the binlog, where it sends invalidations and keeps its state. The default,
 * {@link PropertiesCdcConnectionDetails}, reads {@code veracache.cdc.*}; an application that brings its own servers
 * (the sidecar's demo mode) defines a bean of this type instead, and the auto-configuration uses it.
 */
public interface CdcConnectionDetails {

  String databaseHost();

  int databasePort();

  String databaseUser();

  /** Never logged. */
  String databasePassword();

  boolean databaseSsl();

  /** {@code redis://...} or {@code rediss://...}; may carry credentials, so log only {@link #masked(String)}. */
  String redisUri();

  /**
   * The seed nodes of a Redis Cluster, each a Redis URI (log only {@link #masked(String)}); empty (the default) for
   * one Redis, {@link #redisUri()}.
   */
  default java.util.List<String> redisClusterNodes() {
    return java.util.List.of();
  }

  /** Where invalidations go, without credentials: the Redis URI, or the cluster's seed nodes. */
  default String describeRedis() {
    return redisClusterNodes().isEmpty() ? masked(redisUri())
        : "cluster " + redisClusterNodes().stream().map(CdcConnectionDetails::masked).toList();
  }

  /** Where offsets and schema history are kept. */
  Path stateDirectory();

  /** The action printed when the mappings do not fit the database (a missing table or column). */
  default String whenMappingsDoNotFit() {
    return "Fix the mappings, or the table, and start again.";
  }

  /** A Redis URI without its credentials, for logs and messages. */
  static String masked(String uri) {
    return uri == null ? null : uri.replaceAll("//[^@/]*@", "//***@");
  }
}
