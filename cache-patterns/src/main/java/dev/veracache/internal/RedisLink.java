package dev.veracache.internal;

import dev.veracache.FailureReason;
import dev.veracache.VeracacheException;
import dev.veracache.VeracacheOptions;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisKeyAsyncCommands;
import io.lettuce.core.api.async.RedisScriptingAsyncCommands;
import io.lettuce.core.api.async.RedisStringAsyncCommands;
import io.lettuce.core.api.push.PushMessage;
import io.lettuce.core.api.sync.RedisKeyCommands;
import io.lettuce.core.api.sync.RedisScriptingCommands;
import io.lettuce.core.api.sync.RedisSetCommands;
import io.lettuce.core.api.sync.RedisStringCommands;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.event.ClusterTopologyChangedEvent;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.protocol.ConnectionIntent;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;

/**
 * The one Redis connection of a {@code Veracache} client (or of a {@link RedisInvalidator}), behind a circuit breaker;
 * on a Redis Cluster, Lettuce's cluster connection: one connection per master node, each carrying the commands of the
 * keys its node serves.
 *
 * <p>Internal: not part of the API; may change in any release. The fence scripts run through {@link FenceProtocol}
 * only: this class carries commands and classifies their failures, it knows no script's arguments or replies.
 *
 * <p>Invariants:
 * <ul>
 *   <li>One RESP3 connection carries the reads, the fence scripts and the tracking pushes. Replies and pushes on one
 *       connection arrive in the order Redis produced them, which is what closes race R7 across JVMs.</li>
 *   <li>A command in flight when the connection drops fails; it is never re-sent after the reconnect
 *       ({@code REJECT_COMMANDS}): the Redis reconnected to may have restarted from an older snapshot, and a read that
 *       passed its trust checks before the drop must not be answered by it (R15; pinned by {@code ListenerWatchIT}).
 *       </li>
 *   <li>While disconnected, commands are rejected at once (no queue of commands waiting for a reconnect), and every call
 *       has the command timeout: a dead or paused Redis costs at most one timeout per call until the breaker opens,
 *       and nothing while it is open.</li>
 *   <li>Every failure leaves as an {@link L2Failure}, is counted in {@code veracache.redis.errors} and is never
 *       swallowed here: callers decide how to degrade.</li>
 *   <li>An error Redis answers is classified by its code ({@link #errorCode}), read the same from Redis 6.2 and 7
 *       although they word errors raised inside scripts differently: OOM and READONLY are refusals (not counted by the
 *       breaker), LOADING and BUSY mean Redis cannot serve now (counted), any other code is a refusal.</li>
 *   <li>On a cluster, each master's connection is the one Lettuce routes that master's slots to
 *       ({@link #nodes()} asks for it by the host and port of the topology, as Lettuce's routing does): one key's
 *       reads, scripts and tracking pushes share a connection, so the R7 order holds per key. A script call never
 *       spans hash slots: {@link #runOnKeys} refuses one that would, naming its keys, before Redis answers CROSSSLOT.
 *       </li>
 * </ul>
 */
public final class RedisLink implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RedisLink.class);
  private static final byte[][] NO_ARGS = new byte[0][];
  /** A connection's set-up (TCP connect, then its handshake) may take this many command timeouts. */
  private static final int CONNECT_TIMEOUT_COMMANDS = 4;

  private final CircuitBreaker breaker;
  private final ClientResources resources;
  private final AbstractRedisClient client;
  /** The connection to one Redis; null on a cluster. */
  private final StatefulRedisConnection<String, byte[]> connection;
  /** The connection to a Redis Cluster; null for one Redis. */
  private final StatefulRedisClusterConnection<String, byte[]> cluster;
  private final StatefulConnection<String, byte[]> anyConnection;
  private final RedisStringCommands<String, byte[]> strings;
  private final RedisKeyCommands<String, byte[]> keys;
  private final RedisSetCommands<String, byte[]> sets;
  private final RedisScriptingCommands<String, byte[]> scripting;
  private final RedisStringAsyncCommands<String, byte[]> asyncStrings;
  private final RedisKeyAsyncCommands<String, byte[]> asyncKeys;
  private final RedisScriptingAsyncCommands<String, byte[]> asyncScripting;
  private final List<Disposable> subscriptions = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final String endpoint;
  private final MeterRegistry registry;
  private final String clientName;
  private final long commandTimeoutNanos;
  private final ConcurrentHashMap<FailureReason, Counter> errorCounters = new ConcurrentHashMap<>();
  /**
   * One replication waiter per connection that carried writes to wait for (by identity: Lettuce keeps one connection
   * object per node across reconnections, so this grows with the nodes ever written to, no more).
   */
  private final Map<StatefulRedisConnection<String, byte[]>, ReplicationWaiter> waiters = new ConcurrentHashMap<>();

  public RedisLink(VeracacheOptions options) {
    this(RedisSettings.of(options));
  }

  public RedisLink(RedisSettings options) {
    this.registry = options.meterRegistry();
    this.clientName = options.clientName();
    this.commandTimeoutNanos = options.commandTimeout().toNanos();
    RedisURI uri = options.redisUri();
    boolean onCluster = !options.clusterSeeds().isEmpty();
    // never the password
    this.endpoint = (onCluster ? "cluster " : "") + uri.getHost() + ":" + uri.getPort();
    ClientResources.Builder resourcesBuilder = ClientResources.builder()
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS));
    if (!options.addressMapping().isEmpty()) {
      resourcesBuilder.socketAddressResolver(mappingResolver(options.addressMapping()));
    }
    this.resources = resourcesBuilder.build();
    if (onCluster) {
      RoutingAwareClusterClient clusterClient = new RoutingAwareClusterClient(resources,
          options.clusterSeeds().stream().map(seed -> boundedHandshake(seed, options.commandTimeout())).toList());
      clusterClient.setOptions(connectionRules(ClusterClientOptions.builder(), options.commandTimeout())
          .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
              .enablePeriodicRefresh(CLUSTER_TOPOLOGY_REFRESH)
              .enableAllAdaptiveRefreshTriggers()
              .adaptiveRefreshTriggersTimeout(CLUSTER_ADAPTIVE_REFRESH_LIMIT)
              .refreshTriggersReconnectAttempts(1)
              .build())
          .build());
      this.client = clusterClient;
    } else {
      RedisClient redisClient = RedisClient.create(resources, boundedHandshake(uri, options.commandTimeout()));
      redisClient.setOptions(connectionRules(ClientOptions.builder(), options.commandTimeout()).build());
      this.client = redisClient;
    }
    this.breaker = CircuitBreaker.of("veracache-redis-" + endpoint, CircuitBreakerConfig.custom()
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(options.breakerWindowSize())
        .minimumNumberOfCalls(options.breakerMinimumCalls())
        .failureRateThreshold(options.breakerFailureRatePercent())
        .waitDurationInOpenState(options.breakerOpenDuration())
        .permittedNumberOfCallsInHalfOpenState(1)
        .automaticTransitionFromOpenToHalfOpenEnabled(true)
        .recordException(e -> e instanceof L2Failure f && f.kind == L2Failure.Kind.UNAVAILABLE)
        .build());
    try {
      if (onCluster) {
        this.cluster = ((RedisClusterClient) client).connect(CODEC);
        this.connection = null;
        this.anyConnection = cluster;
        var sync = cluster.sync();
        var async = cluster.async();
        this.strings = sync;
        this.keys = sync;
        this.sets = sync;
        this.scripting = sync;
        this.asyncStrings = async;
        this.asyncKeys = async;
        this.asyncScripting = async;
      } else {
        this.connection = ((RedisClient) client).connect(CODEC);
        this.cluster = null;
        this.anyConnection = connection;
        var sync = connection.sync();
        var async = connection.async();
        this.strings = sync;
        this.keys = sync;
        this.sets = sync;
        this.scripting = sync;
        this.asyncStrings = async;
        this.asyncKeys = async;
        this.asyncScripting = async;
      }
    } catch (RedisException e) {
      client.shutdown();
      logIfNotShutDown(resources.shutdown(), endpoint);
      throw new VeracacheException("cannot connect to Redis at " + endpoint + ": " + e.getMessage(), e);
    }
    try {
      if (onCluster) {
        cluster.sync().clientSetname(options.clientName());
      } else {
        connection.sync().clientSetname(options.clientName());
      }
    } catch (RedisException e) {
      log.warn("Redis at {} refused CLIENT SETNAME: {}", endpoint, e.getMessage());
    }
    RedisConnectionStateListener counter = new RedisConnectionStateListener() {
      @Override
      public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> c, java.net.SocketAddress address) {
        connectionChanges.incrementAndGet();
      }

      @Override
      public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> c) {
        connectionChanges.incrementAndGet();
      }
    };
    addConnectionListener(counter);
    onTopologyChange(connectionChanges::incrementAndGet);
  }

  /** Connects, disconnects and topology changes seen so far ({@link #connectionChanges()}). */
  private final java.util.concurrent.atomic.AtomicLong connectionChanges =
      new java.util.concurrent.atomic.AtomicLong();

  /**
   * How many times a connection of this link connected or dropped, or the cluster's topology changed, so far: a caller
   * that sees it move between two calls knows the Redis behind the second may not be the one behind the first (a
   * restart, a failover). A drop is counted on Lettuce's I/O thread as the socket closes.
   */
  public long connectionChanges() {
    return connectionChanges.get();
  }

  /**
   * What every connection of a link follows, one Redis or a cluster's nodes: RESP3 (tracking pushes), reconnect by
   * itself, reject commands while disconnected (never replay them on the Redis reconnected to), the command timeout.
   */
  /**
   * {@code uri} with the timeout Lettuce gives a new connection's handshake (HELLO, AUTH, CLIENT SETNAME): the
   * connect bound, not the URI's default minute. A node that accepts the connection and never answers (paused, hung)
   * would otherwise hold a start, or a reconnection, that long; on a cluster, each node's URI inherits it from the seed.
   */
  private static RedisURI boundedHandshake(RedisURI uri, Duration commandTimeout) {
    return RedisURI.builder(uri).withTimeout(commandTimeout.multipliedBy(CONNECT_TIMEOUT_COMMANDS)).build();
  }

  private static <B extends ClientOptions.Builder> B connectionRules(B builder, Duration commandTimeout) {
    builder.protocolVersion(ProtocolVersion.RESP3)
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
        .socketOptions(SocketOptions.builder().connectTimeout(commandTimeout.multipliedBy(CONNECT_TIMEOUT_COMMANDS))
            .build());
    return builder;
  }

  /** Between two reads of a cluster's topology (besides those its changes trigger): 2 seconds. */
  static final Duration CLUSTER_TOPOLOGY_REFRESH = Duration.ofSeconds(2);
  /** At most one topology read per this long triggered by a MOVED, ASK or lost connection: 200 ms. */
  static final Duration CLUSTER_ADAPTIVE_REFRESH_LIMIT = Duration.ofMillis(200);

  static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);

  RedisCodec<String, byte[]> codec() {
    return CODEC;
  }

  /** The circuit breaker every data call goes through. */
  public CircuitBreaker breaker() {
    return breaker;
  }

  /**
   * The one connection to one Redis. Not on a cluster (the commands of a key go to its master's connection; see
   * {@link #nodes()}).
   *
   * @throws IllegalStateException on a cluster
   */
  public StatefulRedisConnection<String, byte[]> connection() {
    if (connection == null) {
      throw new IllegalStateException("a Redis Cluster has one connection per master node: use nodes()");
    }
    return connection;
  }

  /** Whether this link talks to a Redis Cluster. */
  public boolean isCluster() {
    return cluster != null;
  }

  /** Whether the connection is open (on a cluster: the cluster connection; a node's own may be reconnecting). */
  public boolean isOpen() {
    return anyConnection.isOpen();
  }

  /**
   * Lettuce's address resolver, connecting to {@code mapping.get("host:port")} where the map has the address Redis
   * named (a seed, or a node of the cluster's topology), else to the address itself.
   */
  private static io.lettuce.core.resource.SocketAddressResolver mappingResolver(Map<String, String> mapping) {
    return io.lettuce.core.resource.MappingSocketAddressResolver.create(io.lettuce.core.resource.DnsResolver.unresolved(),
        named -> {
          String to = mapping.get(named.getHostText() + ":" + named.getPort());
          if (to == null) {
            to = mapping.get("[" + named.getHostText() + "]:" + named.getPort()); // an IPv6 key written bracketed
          }
          return to == null ? named : io.lettuce.core.internal.HostAndPort.parse(to);
        });
  }

  /**
   * One node this link writes to, and the connection its commands go through: the one Redis, or one master of the
   * cluster. {@code keyTag} makes a key of this node's own: a key that ends in it hashes to a slot the node served when
   * the topology was read ({@code "{3}"}, say; empty for one Redis; null for a master that serves no slot, such as one
   * importing its first slots: no key can be addressed to it).
   */
  public record Node(String endpoint, StatefulRedisConnection<String, byte[]> connection, String keyTag) {}

  /**
   * The nodes this link writes to: the one Redis, or every live master of the cluster's topology as Lettuce knows it
   * now (those serving no slot too: an {@code ASK} during a migration sends commands there), each with the very
   * connection Lettuce routes that master's commands to (opened if it was not yet). A master the cluster marks as
   * failed is left out: its slots are, or will be, another's.
   */
  public List<Node> nodes() {
    if (cluster == null) {
      return List.of(new Node(endpoint, connection, ""));
    }
    List<Node> nodes = new ArrayList<>();
    for (RedisClusterNode node : cluster.getPartitions()) {
      if (isLiveMaster(node)) {
        RedisURI uri = node.getUri();
        nodes.add(new Node(uri.getHost() + ":" + uri.getPort(),
            control(() -> cluster.getConnection(uri.getHost(), uri.getPort(), ConnectionIntent.WRITE)),
            node.hasNoSlots() ? null : keyTagOf(node)));
      }
    }
    return nodes;
  }

  /**
   * The connections client tracking must be on for: the one connection, or every master's ({@link #nodes()}) and every
   * other open connection Lettuce made to route this link's commands (to a node reached by {@code MOVED} or
   * {@code ASK} before the topology named it, say). A command can only be answered on one of these.
   */
  public List<StatefulRedisConnection<String, byte[]>> trackingConnections() {
    if (cluster == null) {
      return List.of(connection);
    }
    List<StatefulRedisConnection<String, byte[]>> connections = new ArrayList<>();
    java.util.Set<Object> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (Node node : nodes()) {
      if (seen.add(node.connection())) {
        connections.add(node.connection());
      }
    }
    for (StatefulRedisConnection<String, byte[]> routing : ((RoutingAwareClusterClient) client).routingConnections()) {
      if (routing.isOpen() && seen.add(routing)) {
        connections.add(routing);
      }
    }
    return connections;
  }

  /**
   * On a cluster, a master of the topology as Lettuce knows it now: its node id, the ids a failover can hand its slots
   * to (its own and its replicas'), and whether it serves a given slot.
   */
  public record Master(String nodeId, java.util.Set<String> lineage, java.util.BitSet slots) {
    public boolean serves(int slot) {
      return slots.get(slot);
    }
  }

  /** On a cluster, every live master of the topology Lettuce knows now ({@link #nodes()}'s), with its lineage. */
  public List<Master> masters() {
    if (cluster == null) {
      return List.of();
    }
    List<RedisClusterNode> partitions = new ArrayList<>();
    cluster.getPartitions().forEach(partitions::add);
    List<Master> masters = new ArrayList<>();
    for (RedisClusterNode node : partitions) {
      if (isLiveMaster(node)) {
        java.util.Set<String> lineage = new java.util.HashSet<>();
        lineage.add(node.getNodeId());
        for (RedisClusterNode other : partitions) {
          if (node.getNodeId().equals(other.getSlaveOf())) {
            lineage.add(other.getNodeId());
          }
        }
        java.util.BitSet slots = new java.util.BitSet(SlotHash.SLOT_COUNT);
        node.getSlots().forEach(slots::set);
        masters.add(new Master(node.getNodeId(), java.util.Set.copyOf(lineage), slots));
      }
    }
    return masters;
  }

  /**
   * A master the cluster does not mark as failed, unreachable or still joining. A master only suspected (PFAIL) still
   * serves its slots: it counts, so that WAIT and the heartbeat cover it.
   */
  private static boolean isLiveMaster(RedisClusterNode node) {
    return node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.is(RedisClusterNode.NodeFlag.FAIL)
        && !node.is(RedisClusterNode.NodeFlag.NOADDR) && !node.is(RedisClusterNode.NodeFlag.HANDSHAKE);
  }

  /** A hash tag whose slot {@code node} serves: {@code {n}} for the smallest such n. */
  private static String keyTagOf(RedisClusterNode node) {
    for (int n = 0; ; n++) {
      String tag = "{" + n + "}";
      if (node.hasSlot(SlotHash.getSlot(tag))) {
        return tag;
      }
    }
  }

  /** Every RESP3 push any connection of this link receives (tracking invalidations), on Lettuce's I/O thread. */
  public void addPushListener(Consumer<PushMessage> listener) {
    if (cluster != null) {
      cluster.addListener((node, message) -> listener.accept(message));
    } else {
      connection.addListener(listener::accept);
    }
  }

  /**
   * Every connect and disconnect of the connection that carries this link's commands; on a cluster, of every node
   * connection Lettuce opens to route them (not of the short-lived connections it reads the topology with). Called on
   * Lettuce's I/O thread, before any command is written on a connection that just opened.
   */
  public void addConnectionListener(RedisConnectionStateListener listener) {
    if (client instanceof RoutingAwareClusterClient routing) {
      routing.routingListeners.add(listener);
    } else {
      client.addListener(listener);
    }
  }

  /**
   * Lettuce's cluster client, telling the node connections that route this link's commands (made with its codec) from
   * those it reads the topology with (a string codec, opened and closed every refresh): the routing ones report their
   * connects and disconnects to {@link #addConnectionListener}'s listeners. {@code newStatefulRedisConnection} is the
   * extension point Lettuce documents for this.
   */
  private static final class RoutingAwareClusterClient extends RedisClusterClient {
    final List<RedisConnectionStateListener> routingListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Every routing connection made, held weakly: Lettuce closes and drops those of nodes that left. */
    private final java.util.Set<io.lettuce.core.StatefulRedisConnectionImpl<?, ?>> routing =
        java.util.Collections.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));
    private final RedisConnectionStateListener forwarder = new RedisConnectionStateListener() {
      @Override
      public void onRedisConnected(io.lettuce.core.RedisChannelHandler<?, ?> connection,
          java.net.SocketAddress socketAddress) {
        routingListeners.forEach(listener -> listener.onRedisConnected(connection, socketAddress));
      }

      @Override
      public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> connection) {
        routingListeners.forEach(listener -> listener.onRedisDisconnected(connection));
      }

      @Override
      public void onRedisExceptionCaught(io.lettuce.core.RedisChannelHandler<?, ?> connection, Throwable cause) {
        routingListeners.forEach(listener -> listener.onRedisExceptionCaught(connection, cause));
      }
    };

    RoutingAwareClusterClient(ClientResources resources, List<RedisURI> seeds) {
      super(resources, seeds);
    }

    @Override
    protected <K, V> io.lettuce.core.StatefulRedisConnectionImpl<K, V> newStatefulRedisConnection(
        io.lettuce.core.RedisChannelWriter channelWriter, io.lettuce.core.protocol.PushHandler pushHandler,
        RedisCodec<K, V> codec, Duration timeout, Supplier<io.lettuce.core.json.JsonParser> parser) {
      return routing(super.newStatefulRedisConnection(channelWriter, pushHandler, codec, timeout, parser), codec);
    }

    @Override
    protected <K, V> io.lettuce.core.StatefulRedisConnectionImpl<K, V> newStatefulRedisConnection(
        io.lettuce.core.RedisChannelWriter channelWriter, io.lettuce.core.protocol.PushHandler pushHandler,
        RedisCodec<K, V> codec, Duration timeout) {
      return routing(super.newStatefulRedisConnection(channelWriter, pushHandler, codec, timeout), codec);
    }

    private <K, V> io.lettuce.core.StatefulRedisConnectionImpl<K, V> routing(
        io.lettuce.core.StatefulRedisConnectionImpl<K, V> connection, RedisCodec<K, V> codec) {
      if (codec == CODEC) {
        connection.addListener(forwarder);
        routing.add(connection);
      }
      return connection;
    }

    /** The routing connections made so far (those made with this link's codec). */
    @SuppressWarnings("unchecked") // only connections made with CODEC, a RedisCodec<String, byte[]>, are kept
    List<StatefulRedisConnection<String, byte[]>> routingConnections() {
      synchronized (routing) {
        return routing.stream().map(c -> (StatefulRedisConnection<String, byte[]>) c).toList();
      }
    }
  }

  /** Reads the cluster's topology now (Lettuce also does so periodically and on MOVED, ASK and lost connections). */
  public void refreshTopology() {
    if (client instanceof RedisClusterClient clusterClient) {
      control(() -> {
        clusterClient.refreshPartitions();
        return null;
      });
    }
  }

  /** Runs {@code action} whenever Lettuce reads a changed cluster topology (failover, slots moved, node added). */
  public void onTopologyChange(Runnable action) {
    if (cluster != null) {
      subscriptions.add(resources.eventBus().get()
          .filter(ClusterTopologyChangedEvent.class::isInstance)
          .subscribe(event -> action.run()));
    }
  }

  /** {@code host:port}, never the password: for logs. */
  public String endpoint() {
    return endpoint;
  }

  /** GET, or null when absent. */
  public byte[] get(String key) {
    return call(() -> strings.get(key));
  }

  /**
   * Deletes ({@code UNLINK}) every key that begins with {@code prefix}, one {@code SCAN} page at a time, and returns
   * how many. Every key present for the whole scan is deleted; keys created meanwhile may stay. Not guarded by the
   * breaker: its callers surface a failure to theirs.
   */
  public long unlinkStartingWith(String prefix) {
    String pattern = prefix.replaceAll("([*?\\[\\]\\\\])", "\\\\$1") + "*"; // the prefix taken literally
    // On a cluster, Lettuce scans every master in turn and splits the UNLINK by slot.
    return control(() -> {
      long deleted = 0;
      io.lettuce.core.ScanCursor cursor = io.lettuce.core.ScanCursor.INITIAL;
      do {
        io.lettuce.core.KeyScanCursor<String> page =
            keys.scan(cursor, io.lettuce.core.ScanArgs.Builder.matches(pattern).limit(1000));
        if (!page.getKeys().isEmpty()) {
          deleted += keys.unlink(page.getKeys().toArray(String[]::new));
        }
        cursor = page;
      } while (!cursor.isFinished());
      return deleted;
    });
  }

  /** SMEMBERS, as text. */
  public List<String> smembers(String key) {
    return call(() -> sets.smembers(key)).stream()
        .map(b -> new String(b, java.nio.charset.StandardCharsets.UTF_8)).toList();
  }

  /** What {@link #getWithPttl} found: the value (null when absent) and its remaining life in ms (PTTL's reply). */
  public record ValueAndPttl(byte[] value, long pttlMillis) {}

  /**
   * GET and PTTL of one key, sent back to back on the one connection (on a cluster, the key's master's) before either
   * reply is awaited: one round trip (not atomic; a write may land between the two). PTTL answers -1 for a key without
   * expiry, -2 for none.
   */
  public ValueAndPttl getWithPttl(String key) {
    return call(() -> {
      RedisFuture<byte[]> value = asyncStrings.get(key);
      RedisFuture<Long> pttl = asyncKeys.pttl(key);
      long deadline = System.nanoTime() + commandTimeoutNanos;
      return new ValueAndPttl(await(value, deadline, "GET"), await(pttl, deadline, "PTTL"));
    });
  }

  /**
   * Returns once {@code replicas} replicas hold this link's last write of {@code key}. On one Redis that is a WAIT on
   * the one connection. On a cluster, the write went to the key's master by Lettuce's topology, or, during a slot
   * migration, to the node an {@code ASK} (or, after it, a {@code MOVED}) named, which Lettuce followed: an
   * {@code EXISTS key} on the master's connection tells (redirected, or not), and then both the master's and that
   * node's replicas must hold what this link sent them (a key absent from its master may also have been deleted there).
   * On a cluster, a master that has no replica in the topology is not waited for: no replica can be promoted in its
   * place with an older copy (one attached later copies it whole). The WAITs go through one
   * {@link ReplicationWaiter} per connection, which never holds the connection more than a few milliseconds. Guarded
   * by the breaker.
   *
   * @throws L2Failure reason {@code NOT_DURABLE} when fewer acknowledged within {@code timeout}
   */
  public void awaitReplicas(String key, int replicas, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String shortOf = call(() -> {
      if (cluster == null) {
        return shortOf(connection, endpoint, replicas, deadline);
      }
      RedisClusterNode master = cluster.getPartitions().getMasterBySlot(SlotHash.getSlot(key));
      if (master == null) {
        throw new RedisException("no master serves the slot of " + key + " in the topology known now");
      }
      StatefulRedisConnection<String, byte[]> owner = nodeConnection(master.getUri().getHost(),
          master.getUri().getPort());
      String redirectedTo = redirectionOf(owner.async().exists(key), System.nanoTime() + commandTimeoutNanos);
      String missing = hasReplicas(master) ? shortOf(owner, endpointOf(master), replicas, deadline) : null;
      if (missing != null || redirectedTo == null) {
        return missing;
      }
      int colon = redirectedTo.lastIndexOf(':');
      String host = redirectedTo.substring(0, colon);
      int port = Integer.parseInt(redirectedTo.substring(colon + 1));
      RedisClusterNode target = cluster.getPartitions().getPartition(host, port);
      return target != null && !hasReplicas(target) ? null
          : shortOf(nodeConnection(host, port), redirectedTo, replicas, deadline);
    });
    if (shortOf != null) {
      throw failure(FailureReason.NOT_DURABLE, "only " + shortOf + " acknowledged the write of " + key + " within "
          + timeout, null);
    }
  }

  /**
   * Returns once {@code replicas} replicas of every live master ({@link #nodes()}) that has replicas in the topology
   * hold every write this link sent it so far: after a write that may have touched any of them ({@code invalidateAll}'s
   * SCAN and UNLINK). The waits run side by side. Guarded by the breaker.
   *
   * @throws L2Failure reason {@code NOT_DURABLE} naming the first master that fell short within {@code timeout}
   */
  public void awaitReplicasOnEveryMaster(int replicas, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<Node> masters = nodes();
    String shortOf = call(() -> {
      Map<Node, ReplicationWaiter.Request> waits = new java.util.LinkedHashMap<>();
      for (Node master : masters) {
        if (cluster == null || hasReplicas(master.endpoint())) {
          waits.put(master, waiterOf(master.connection()).request(replicas));
        }
      }
      String missing = null;
      for (Map.Entry<Node, ReplicationWaiter.Request> wait : waits.entrySet()) {
        long acknowledged = wait.getValue().await(deadline); // every one, so that each leaves its waiter
        if (acknowledged < replicas && missing == null) {
          missing = acknowledged + " of " + replicas + " replicas of Redis at " + wait.getKey().endpoint();
        }
      }
      return missing;
    });
    if (shortOf != null) {
      throw failure(FailureReason.NOT_DURABLE, "only " + shortOf + " acknowledged within " + timeout, null);
    }
  }

  /** Null when {@code replicas} hold this link's writes on {@code connection} by the deadline; else who fell short. */
  private String shortOf(StatefulRedisConnection<String, byte[]> on, String where, int replicas, long deadlineNanos) {
    long acknowledged = waiterOf(on).request(replicas).await(deadlineNanos);
    return acknowledged >= replicas ? null : acknowledged + " of " + replicas + " replicas of Redis at " + where;
  }

  private ReplicationWaiter waiterOf(StatefulRedisConnection<String, byte[]> on) {
    return waiters.computeIfAbsent(on, ReplicationWaiter::new);
  }

  /** Whether the topology names a replica of {@code master}. */
  private boolean hasReplicas(RedisClusterNode master) {
    for (RedisClusterNode node : cluster.getPartitions()) {
      if (master.getNodeId().equals(node.getSlaveOf())) {
        return true;
      }
    }
    return false;
  }

  /** As {@link #hasReplicas(RedisClusterNode)}, of the master at {@code host:port}; true when the topology lacks it. */
  private boolean hasReplicas(String hostAndPort) {
    int colon = hostAndPort.lastIndexOf(':');
    RedisClusterNode master = cluster.getPartitions().getPartition(hostAndPort.substring(0, colon),
        Integer.parseInt(hostAndPort.substring(colon + 1)));
    return master == null || hasReplicas(master);
  }

  private static String endpointOf(RedisClusterNode node) {
    return node.getUri().getHost() + ":" + node.getUri().getPort();
  }

  /** The connection Lettuce routes a node's commands to (by its host and port, as the topology names it). */
  private StatefulRedisConnection<String, byte[]> nodeConnection(String host, int port) {
    return cluster.getConnection(host, port, ConnectionIntent.WRITE);
  }

  /**
   * The {@code host:port} a node's reply redirects to ({@code ASK slot host:port} or {@code MOVED slot host:port}),
   * or null when it answered.
   */
  private static String redirectionOf(RedisFuture<?> reply, long deadlineNanos) {
    try {
      await(reply, deadlineNanos, "EXISTS");
      return null;
    } catch (RedisCommandExecutionException e) {
      String message = String.valueOf(e.getMessage());
      String code = errorCode(message);
      if (!code.equals("ASK") && !code.equals("MOVED")) {
        throw e;
      }
      String[] words = message.trim().split(" ");
      return words[words.length - 1];
    }
  }


  /** SET key value NX PX ttlMillis: true when this call set it (the key was absent). */
  public boolean setIfAbsent(String key, byte[] value, long ttlMillis) {
    return call(() -> "OK".equals(strings.set(key, value, SetArgs.Builder.nx().px(ttlMillis))));
  }

  /** The reply of an async command sent on the one connection, as a sync call would throw its failure. */
  private static <T> T await(RedisFuture<T> reply, long deadlineNanos, String command) {
    try {
      return reply.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new RedisException(e.getCause());
    } catch (TimeoutException e) {
      throw new RedisCommandTimeoutException(command + " reply not in");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RedisException("interrupted while waiting for Redis", e);
    }
  }

  /** Runs a fence script on one key; the script's reply as Lettuce decodes it (Long, byte[] or a List of those). */
  Object run(FenceScript script, String key, byte[]... args) {
    return runOnKeys(script, new String[] {key}, args);
  }

  /**
   * Runs a script that reads or writes several keys at once; guarded by the breaker like every data call.
   *
   * @throws IllegalStateException on a cluster, when the keys hash to different slots (Redis would answer CROSSSLOT)
   */
  Object runOnKeys(FenceScript script, String[] scriptKeys, byte[]... args) {
    requireOneSlot(script, scriptKeys);
    byte[][] argv = args.length == 0 ? NO_ARGS : args;
    return call(() -> {
      try {
        return scripting.evalsha(script.sha1, ScriptOutputType.MULTI, scriptKeys, argv);
      } catch (RedisNoScriptException e) {
        // Script cache is empty after a Redis restart or SCRIPT FLUSH: load once (on a cluster, on every master) and
        // retry.
        loadScript(script);
        return scripting.evalsha(script.sha1, ScriptOutputType.MULTI, scriptKeys, argv);
      }
    });
  }

  /**
   * SCRIPT LOAD on the one Redis, or on every master of the cluster. Not through Lettuce's cluster-wide SCRIPT LOAD:
   * it goes to every node, replicas included, so one replica that is down or paused would fail it (and every fence
   * call after a master's restart with it).
   */
  private void loadScript(FenceScript script) {
    if (cluster == null) {
      scripting.scriptLoad(script.source);
      return;
    }
    for (Node node : nodes()) {
      node.connection().sync().scriptLoad(script.source);
    }
  }

  /** On a cluster: every key of one script call must hash to one slot. */
  private void requireOneSlot(FenceScript script, String[] scriptKeys) {
    if (cluster == null || scriptKeys.length < 2) {
      return;
    }
    int slot = SlotHash.getSlot(scriptKeys[0]);
    for (String key : scriptKeys) {
      if (SlotHash.getSlot(key) != slot) {
        throw new IllegalStateException(script + " runs on keys of different hash slots (" + scriptKeys[0] + " in "
            + slot + ", " + key + " in " + SlotHash.getSlot(key) + "): on a Redis Cluster one script call must "
            + "stay in one slot");
      }
    }
  }

  /**
   * Runs one script many times, pipelined: all calls are written before any reply is awaited, in order, on the one
   * connection (on a cluster, each call on its slot's master connection), so per-key order is kept. Call {@code i} gets
   * the keys {@code callKeys.get(i)} (on a cluster, all of one slot) and the arguments {@code args.get(i)}. Waits for
   * every reply (at most the command timeout after the last was sent); throws the first failure. Not guarded by the
   * breaker: its callers (the CDC listener, write-behind) retry or queue.
   */
  void runPipelined(FenceScript script, List<String[]> callKeys, List<byte[][]> args) {
    try {
      runPipelinedOnce(script, callKeys, args);
    } catch (RedisNoScriptException e) {
      control(() -> {
        loadScript(script);
        return null;
      });
      try {
        runPipelinedOnce(script, callKeys, args);
      } catch (RedisNoScriptException again) {
        // Flushed again between the load and the rerun: a failure the caller retries, like any other.
        throw classify(again);
      }
    }
  }

  private void runPipelinedOnce(FenceScript script, List<String[]> callKeys, List<byte[][]> args) {
    for (String[] call : callKeys) {
      requireOneSlot(script, call);
    }
    List<RedisFuture<Object>> replies = new ArrayList<>(callKeys.size());
    for (int i = 0; i < callKeys.size(); i++) {
      replies.add(asyncScripting.evalsha(script.sha1, ScriptOutputType.MULTI, callKeys.get(i), args.get(i)));
    }
    long deadline = System.nanoTime() + commandTimeoutNanos;
    for (RedisFuture<Object> reply : replies) {
      try {
        reply.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RedisNoScriptException noScript) {
          throw noScript;
        }
        throw classify(e.getCause() instanceof RuntimeException r ? r : new RedisException(e.getCause()));
      } catch (TimeoutException e) {
        throw classify(new RedisCommandTimeoutException("pipelined " + script + " replies not all in"));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw classify(new RedisException("interrupted while waiting for Redis", e));
      }
    }
  }

  /** A command that is not a data operation (CLIENT TRACKING, PING): counted, not guarded by the breaker. */
  public <T> T control(Supplier<T> command) {
    try {
      return command.get();
    } catch (RuntimeException e) {
      throw classify(e);
    }
  }

  private <T> T call(Supplier<T> command) {
    try {
      return breaker.executeSupplier(() -> {
        try {
          return command.get();
        } catch (RuntimeException e) {
          throw classify(e);
        }
      });
    } catch (CallNotPermittedException e) {
      throw failure(FailureReason.CIRCUIT_OPEN, "Redis at " + endpoint + " is considered down "
          + "(circuit breaker open)", e);
    }
  }

  private L2Failure classify(RuntimeException e) {
    if (e instanceof L2Failure f) {
      return f;
    }
    String message = String.valueOf(e.getMessage());
    if (e instanceof RedisCommandTimeoutException) {
      return failure(FailureReason.TIMEOUT, "Redis at " + endpoint + " timed out: " + message, e);
    }
    if (e instanceof RedisCommandExecutionException) {
      switch (errorCode(message)) {
        case "OOM":
          return failure(FailureReason.OOM, "Redis at " + endpoint + " is out of memory: " + message, e);
        case "READONLY":
          return failure(FailureReason.READONLY, "Redis at " + endpoint + " is a read-only replica: "
              + message, e);
        case "LOADING":
          return failure(FailureReason.LOADING, "Redis at " + endpoint + " is loading its data set: "
              + message, e);
        case "BUSY":
          return failure(FailureReason.BUSY, "Redis at " + endpoint + " is busy: " + message, e);
        case "WRONGTYPE":
          return failure(FailureReason.WRONGTYPE, "Redis at " + endpoint + " holds a key of "
              + "another type: " + message, e);
        case "NOREPLICAS":
          return failure(FailureReason.NOREPLICAS, "Redis at " + endpoint + " refuses writes for want of "
              + "replicas (min-replicas-to-write): " + message, e);
        case "NOPERM":
          return failure(FailureReason.NOPERM, "Redis at " + endpoint + " refuses this key or command to "
              + "our user (ACL): " + message, e);
        default:
          return failure(FailureReason.OTHER, "Redis at " + endpoint + " answered an error: " + message,
              e);
      }
    }
    if (e instanceof RedisException) {
      return failure(FailureReason.DISCONNECTED, "Redis at " + endpoint + " is unreachable: "
          + message, e);
    }
    return failure(FailureReason.OTHER, "Redis call to " + endpoint + " failed: " + e, e);
  }

  /** Where Redis 6.2 puts the code of an error raised inside a script: {@code ... @user_script: 1: -OOM ...}. */
  private static final Pattern WRAPPED_SCRIPT_ERROR =
      Pattern.compile("@user_script: ?\\d+: -([A-Z]+)\\b");

  /**
   * The code of a Redis error reply (its first word: {@code OOM}, {@code READONLY}, {@code BUSY}, {@code BUSYKEY},
   * {@code ERR}...). An error raised inside a script reads differently by version: Redis 7 answers the original code
   * ({@code OOM command not allowed ... script: <sha>, on @user_script:1.}), Redis 6.2 wraps it
   * ({@code ERR Error running script (call to f_<sha>): @user_script:1: @user_script: 1: -OOM command not allowed ...},
   * and a pcall error table reads {@code @user_script: 1: -OOM ...}): then the wrapped code is answered.
   */
  public static String errorCode(String message) {
    Matcher wrapped = WRAPPED_SCRIPT_ERROR.matcher(message);
    if ((message.startsWith("ERR Error running script") || message.startsWith("@user_script")) && wrapped.find()) {
      return wrapped.group(1);
    }
    int space = message.indexOf(' ');
    return space < 0 ? message : message.substring(0, space);
  }

  private L2Failure failure(FailureReason reason, String message, Throwable cause) {
    errorCounters.computeIfAbsent(reason, r -> Counter.builder("veracache.redis.errors")
        .description("Redis calls that failed, by reason")
        .tag("client", clientName)
        .tag("reason", r.tag())
        .register(registry)).increment();
    return new L2Failure(reason, message, cause);
  }

  @Override
  public void close() {
    subscriptions.forEach(Disposable::dispose);
    try {
      anyConnection.close();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      logIfNotShutDown(resources.shutdown(0, 2, TimeUnit.SECONDS), endpoint);
    }
  }

  /** Lettuce stops its threads in the background and nobody waits for that: a failure to stop is logged here. */
  private static void logIfNotShutDown(io.netty.util.concurrent.Future<Boolean> shutdown, String endpoint) {
    shutdown.addListener(done -> {
      if (!done.isSuccess()) {
        log.warn("Redis client resources for {} did not shut down cleanly: {}", endpoint, done.cause().toString());
      }
    });
  }
}
