package dev.veracache.chaos.fault;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on loopback between clients (Lettuce) and one server (Redis) that injects network faults on demand:
 * added latency, dropped connections, a partition and a blackhole (a silent stall).
 *
 * <pre>{@code
 * try (TcpProxy proxy = TcpProxy.start("redis", redis.host(), redis.port())) {
 *   RedisClient client = RedisClient.create(proxy.proxiedRedisUri(redis.uri()));
 *   proxy.latency(Duration.ofMillis(50));
 *   proxy.blackhole();
 *   proxy.heal();
 * }
 * }</pre>
 *
 * <h2>Design</h2>
 * Blocking sockets and plain daemon threads. One acceptor thread ({@code tcp-proxy-<name>-accept}) dials the target
 * for every accepted client. Each forwarded connection (a "pair": the client's socket and the proxy's socket to the
 * target) has two directions, up (client to server) and down (server to client). Each direction has a reader thread
 * and a writer thread ({@code tcp-proxy-<name>-<id>-up-read}, {@code ...-up-write}, {@code ...-down-read},
 * {@code ...-down-write}) joined by a FIFO queue of chunks stamped with the time they were read. The reader keeps
 * reading while the writer waits, so latency delays bytes without cutting throughput. The queue holds at most
 * {@value #MAX_QUEUED_BYTES} bytes per direction (plus one chunk); past that the reader stops reading and TCP pushes
 * back on the sender.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>Order: the bytes of one direction of one connection are written in the order they were read, each exactly
 *       once, while the pair is open. Closing a pair discards what it still holds.</li>
 *   <li>Latency: a chunk is written no earlier than its read time plus the one-way latency in force when the writer
 *       looks at it, and never before the chunks read before it. Lowering the latency releases waiting chunks at
 *       once; raising it also holds chunks already queued.</li>
 *   <li>End of stream: when one side shuts its output, the other side sees end of stream after every byte before it
 *       (latency and blackhole apply to it too). The pair closes when both directions have ended, or at the first
 *       I/O error of either side; that closes this pair only, quietly, never the proxy.</li>
 *   <li>Drop and partition: both sockets of every open pair are closed before {@link #dropConnections()} or
 *       {@link #partition()} returns. While partitioned, a new connection is closed right after accept, before the
 *       target is dialled and before a byte is read, so {@link #openConnections()} stays 0 until {@link #heal()}.</li>
 *   <li>Blackhole: once {@link #blackhole()} returns, no writer starts a new write until {@link #heal()} (a write
 *       already under way finishes). Bytes keep being read into the queues (up to the bound) and are all delivered,
 *       in order, after {@link #heal()}: a blackhole loses nothing. Writers wait on a condition, never spin.</li>
 *   <li>Close: {@link #close()} returns after the listener and every pair are closed and every thread of this proxy
 *       has ended (it waits up to {@code CLOSE_WAIT} and logs a warning naming any thread still alive).</li>
 * </ul>
 */
public final class TcpProxy implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TcpProxy.class);

  private static final String LOOPBACK = "127.0.0.1";
  private static final int CHUNK_BYTES = 64 * 1024;
  private static final int MAX_QUEUED_BYTES = 8 * 1024 * 1024;
  private static final int LISTEN_BACKLOG = 50;
  private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
  private static final long ACCEPT_RETRY_MILLIS = 100;
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

  private final String name;
  private final InetSocketAddress target;
  private final ServerSocket listener;
  /** Orders registration of new pairs against partition(), heal() and close(). */
  private final Object faultLock = new Object();
  private final Set<Pair> pairs = ConcurrentHashMap.newKeySet();
  /** Every thread this proxy started that may still be alive; dead ones are pruned as new pairs start. */
  private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
  private final AtomicLong forwarded = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile long latencyNanos;
  private volatile boolean partitioned;
  private volatile boolean blackholed;

  private TcpProxy(String name, InetSocketAddress target, ServerSocket listener) {
    this.name = name;
    this.target = target;
    this.listener = listener;
  }

  /** Listens on 127.0.0.1 on a free port and forwards every accepted connection to target. */
  public static TcpProxy start(String name, String targetHost, int targetPort) {
    Objects.requireNonNull(name, "name must not be null");
    Objects.requireNonNull(targetHost, "targetHost must not be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name must not be blank");
    }
    if (targetHost.isBlank()) {
      throw new IllegalArgumentException("targetHost must not be blank");
    }
    if (targetPort < 1 || targetPort > 65535) {
      throw new IllegalArgumentException("targetPort must be 1..65535, was " + targetPort);
    }
    InetSocketAddress target = new InetSocketAddress(targetHost, targetPort);
    if (target.isUnresolved()) {
      throw new IllegalArgumentException("targetHost cannot be resolved: " + targetHost);
    }
    ServerSocket listener;
    try {
      listener = new ServerSocket(0, LISTEN_BACKLOG, InetAddress.getByAddress(LOOPBACK, new byte[] {127, 0, 0, 1}));
    } catch (IOException e) {
      throw new UncheckedIOException("tcp proxy " + name + ": cannot listen on " + LOOPBACK, e);
    }
    TcpProxy proxy = new TcpProxy(name, target, listener);
    proxy.startThread("tcp-proxy-" + name + "-accept", proxy::acceptLoop);
    log.info("tcp proxy {}: listening on {}:{}, forwarding to {}:{}", name, LOOPBACK, proxy.port(), targetHost,
        targetPort);
    return proxy;
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** Always {@code "127.0.0.1"}. */
  public String host() {
    return LOOPBACK;
  }

  /**
   * redisUri with host:port replaced by the proxy's, keeping scheme, user, password, database and query as written,
   * e.g. {@code redis://:pw@127.0.0.1:6379/0?timeout=300ms -> redis://:pw@127.0.0.1:<proxyPort>/0?timeout=300ms}.
   * The URI must name one host; a URI without a port gets the proxy's.
   */
  public String proxiedRedisUri(String redisUri) {
    Objects.requireNonNull(redisUri, "redisUri must not be null");
    URI parsed;
    try {
      parsed = new URI(redisUri);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("redisUri is not a URI: " + redacted(redisUri), e);
    }
    String authority = parsed.getRawAuthority();
    if (parsed.getScheme() == null || authority == null || parsed.getHost() == null) {
      throw new IllegalArgumentException("redisUri must be scheme://[user:password@]host[:port][/db][?query], was "
          + redacted(redisUri));
    }
    int authorityStart = redisUri.indexOf("//") + 2;
    if (!redisUri.startsWith(authority, authorityStart)) {
      throw new IllegalArgumentException("redisUri has an unexpected form: " + redacted(redisUri));
    }
    int at = authority.lastIndexOf('@');
    String userInfo = at < 0 ? "" : authority.substring(0, at + 1);
    return redisUri.substring(0, authorityStart) + userInfo + host() + ":" + port()
        + redisUri.substring(authorityStart + authority.length());
  }

  /**
   * Added one-way delay for every chunk forwarded in either direction, on open and new connections;
   * {@link Duration#ZERO} removes it. Order of bytes is kept.
   */
  public void latency(Duration oneWay) {
    Objects.requireNonNull(oneWay, "latency must not be null");
    if (oneWay.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative, was " + oneWay);
    }
    latencyNanos = oneWay.toNanos();
    wakeWriters(openPairs());
    if (oneWay.isZero()) {
      log.info("tcp proxy {}: latency removed", name);
    } else {
      log.info("tcp proxy {}: latency {} ms one way", name, oneWay.toMillis());
    }
  }

  /** Closes every open connection (both sides) once; new connections are accepted as usual. */
  public void dropConnections() {
    List<Pair> open = openPairs();
    open.forEach(pair -> pair.close("dropped"));
    log.info("tcp proxy {}: dropped {} connection(s)", name, open.size());
  }

  /** Cuts this client off: closes every open connection and closes every new one at once, until heal(). */
  public void partition() {
    List<Pair> open;
    synchronized (faultLock) {
      partitioned = true;
      open = openPairs();
    }
    open.forEach(pair -> pair.close("partitioned"));
    log.info("tcp proxy {}: partitioned, closed {} connection(s); new ones are closed at once until heal()", name,
        open.size());
  }

  /**
   * A silent stall: open connections stay open but nothing is forwarded (bytes wait, none lost) until heal(). New
   * connections are accepted but stall too.
   */
  public void blackhole() {
    synchronized (faultLock) {
      blackholed = true;
    }
    log.info("tcp proxy {}: blackhole, nothing is forwarded until heal()", name);
  }

  /** Ends partition() and blackhole(); latency stays as set. */
  public void heal() {
    boolean wasPartitioned;
    boolean wasBlackholed;
    List<Pair> open;
    synchronized (faultLock) {
      wasPartitioned = partitioned;
      wasBlackholed = blackholed;
      partitioned = false;
      blackholed = false;
      open = openPairs();
    }
    wakeWriters(open);
    if (wasPartitioned || wasBlackholed) {
      log.info("tcp proxy {}: healed (partition: {}, blackhole: {})", name, wasPartitioned, wasBlackholed);
    } else {
      log.debug("tcp proxy {}: heal with no fault set", name);
    }
  }

  /** Connections forwarded now. */
  public int openConnections() {
    return pairs.size();
  }

  /** Connections forwarded to the target since start; those closed at once by a partition do not count. */
  public long forwardedConnections() {
    return forwarded.get();
  }

  /** Bytes read from one side and not yet written to the other, over all open connections (held by a fault). */
  public long pendingBytes() {
    long sum = 0;
    for (Pair pair : pairs) {
      sum += pair.up.queuedBytes() + pair.down.queuedBytes();
    }
    return sum;
  }

  /** Stops listening and closes everything; idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closeQuietly(listener);
    List<Pair> open;
    synchronized (faultLock) {
      open = openPairs();
    }
    open.forEach(pair -> pair.close("proxy closed"));
    awaitThreads();
    log.info("tcp proxy {}: closed", name);
  }

  @Override
  public String toString() {
    return "tcp proxy " + name + " " + LOOPBACK + ":" + port() + " -> " + target.getHostString() + ":"
        + target.getPort();
  }

  private void acceptLoop() {
    while (!closed.get()) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        if (closed.get()) {
          return;
        }
        log.warn("tcp proxy {}: accept failed, retrying in {} ms: {}", name, ACCEPT_RETRY_MILLIS, e.toString());
        try {
          Thread.sleep(ACCEPT_RETRY_MILLIS);
        } catch (InterruptedException interrupted) {
          return;
        }
        continue;
      }
      forward(client);
    }
  }

  private void forward(Socket client) {
    if (partitioned || closed.get()) {
      log.debug("tcp proxy {}: closed new connection from port {} at once (partitioned)", name, client.getPort());
      closeQuietly(client);
      return;
    }
    Socket server = new Socket();
    try {
      client.setTcpNoDelay(true);
      server.setTcpNoDelay(true);
      server.connect(target, CONNECT_TIMEOUT_MILLIS);
    } catch (IOException e) {
      log.debug("tcp proxy {}: cannot reach the target, closing the new connection: {}", name, e.toString());
      closeQuietly(client);
      closeQuietly(server);
      return;
    }
    synchronized (faultLock) {
      if (partitioned || closed.get()) {
        closeQuietly(client);
        closeQuietly(server);
        return;
      }
      Pair pair = new Pair(forwarded.incrementAndGet(), client, server);
      pairs.add(pair);
      threads.removeIf(thread -> !thread.isAlive());
      pair.start();
      log.debug("tcp proxy {}: connection {} open, client port {} -> proxy port {}", name, pair.id, client.getPort(),
          server.getLocalPort());
    }
  }

  private List<Pair> openPairs() {
    return new ArrayList<>(pairs);
  }

  private static void wakeWriters(List<Pair> open) {
    for (Pair pair : open) {
      pair.up.wake();
      pair.down.wake();
    }
  }

  private void startThread(String threadName, Runnable body) {
    Thread thread = new Thread(() -> {
      try {
        body.run();
      } catch (RuntimeException e) {
        log.warn("tcp proxy {}: thread {} failed", name, Thread.currentThread().getName(), e);
      }
    }, threadName);
    thread.setDaemon(true);
    threads.add(thread);
    thread.start();
  }

  private void awaitThreads() {
    long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
    for (Thread thread : new ArrayList<>(threads)) {
      long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (thread == Thread.currentThread() || leftMillis <= 0) {
        continue;
      }
      try {
        thread.join(leftMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    List<String> alive = threads.stream()
        .filter(thread -> thread.isAlive() && thread != Thread.currentThread())
        .map(Thread::getName)
        .toList();
    if (!alive.isEmpty()) {
      log.warn("tcp proxy {}: threads still alive {} ms after close: {}", name, CLOSE_WAIT.toMillis(), alive);
    }
  }

  private static void closeQuietly(Closeable closeable) {
    try {
      closeable.close();
    } catch (IOException e) {
      // closing after a failure: nothing left to do
    }
  }

  /** Hides the user and password of a URI that goes into an error message. */
  private static String redacted(String uri) {
    return uri.replaceFirst("//[^/@]*@", "//***@");
  }

  /** One forwarded connection: the client's socket and the proxy's socket to the target. */
  private final class Pair {

    private final long id;
    private final Socket client;
    private final Socket server;
    private final Direction up;
    private final Direction down;
    private final AtomicBoolean pairClosed = new AtomicBoolean();

    Pair(long id, Socket client, Socket server) {
      this.id = id;
      this.client = client;
      this.server = server;
      this.up = new Direction(this, "up", client, server);
      this.down = new Direction(this, "down", server, client);
    }

    void start() {
      up.start();
      down.start();
    }

    boolean isClosed() {
      return pairClosed.get();
    }

    /** Closes both sockets and wakes this pair's threads so they end; idempotent, the first reason is logged. */
    void close(String reason) {
      if (!pairClosed.compareAndSet(false, true)) {
        return;
      }
      closeQuietly(client);
      closeQuietly(server);
      up.wake();
      down.wake();
      pairs.remove(this);
      log.debug("tcp proxy {}: connection {} closed ({}), {} bytes up, {} bytes down", name, id, reason,
          up.forwardedBytes.get(), down.forwardedBytes.get());
    }

    void directionEnded() {
      if (up.ended && down.ended) {
        close("both sides ended");
      }
    }
  }

  /** A chunk of bytes read at {@code readNanos}; {@code bytes == null} marks the end of the stream. */
  private record Chunk(byte[] bytes, long readNanos) {

    boolean isEnd() {
      return bytes == null;
    }

    int length() {
      return bytes == null ? 0 : bytes.length;
    }
  }

  /** One direction of a pair: a reader thread fills the queue, a writer thread empties it when chunks are due. */
  private final class Direction {

    private final Pair pair;
    private final String label;
    private final Socket from;
    private final Socket to;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a chunk is queued or taken, the pair closes, or a fault or the latency changes. */
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    private long queuedBytes;
    private final AtomicLong forwardedBytes = new AtomicLong(); // written by the write thread, read on close
    private volatile boolean ended;

    Direction(Pair pair, String label, Socket from, Socket to) {
      this.pair = pair;
      this.label = label;
      this.from = from;
      this.to = to;
    }

    void start() {
      String prefix = "tcp-proxy-" + name + "-" + pair.id + "-" + label;
      startThread(prefix + "-read", this::readLoop);
      startThread(prefix + "-write", this::writeLoop);
    }

    void wake() {
      lock.lock();
      try {
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }

    long queuedBytes() {
      lock.lock();
      try {
        return queuedBytes;
      } finally {
        lock.unlock();
      }
    }

    private void readLoop() {
      byte[] buffer = new byte[CHUNK_BYTES];
      try {
        InputStream in = from.getInputStream();
        while (true) {
          int read = in.read(buffer);
          if (read < 0) {
            enqueue(new Chunk(null, System.nanoTime()));
            return;
          }
          if (read > 0 && !enqueue(new Chunk(Arrays.copyOf(buffer, read), System.nanoTime()))) {
            return;
          }
        }
      } catch (IOException e) {
        pair.close(label + " read: " + e.getMessage());
      } catch (InterruptedException e) {
        pair.close(label + " reader interrupted");
      }
    }

    /** Queues a chunk, waiting while the queue is full; false if the pair closed. */
    private boolean enqueue(Chunk chunk) throws InterruptedException {
      lock.lock();
      try {
        while (queuedBytes >= MAX_QUEUED_BYTES && !pair.isClosed()) {
          changed.await();
        }
        if (pair.isClosed()) {
          return false;
        }
        queue.addLast(chunk);
        queuedBytes += chunk.length();
        changed.signalAll();
        return true;
      } finally {
        lock.unlock();
      }
    }

    private void writeLoop() {
      try {
        OutputStream out = to.getOutputStream();
        while (true) {
          Chunk chunk = takeWhenDue();
          if (chunk == null) {
            return;
          }
          if (chunk.isEnd()) {
            to.shutdownOutput();
            ended = true;
            pair.directionEnded();
            return;
          }
          out.write(chunk.bytes());
          forwardedBytes.addAndGet(chunk.length());
        }
      } catch (IOException e) {
        pair.close(label + " write: " + e.getMessage());
      } catch (InterruptedException e) {
        pair.close(label + " writer interrupted");
      }
    }

    /** The head chunk once it is due and no blackhole holds it; null once the pair is closed. */
    private Chunk takeWhenDue() throws InterruptedException {
      lock.lock();
      try {
        while (!pair.isClosed()) {
          Chunk head = queue.peekFirst();
          if (head == null || blackholed) {
            changed.await();
            continue;
          }
          long waitNanos = head.readNanos() + latencyNanos - System.nanoTime();
          if (waitNanos > 0) {
            changed.awaitNanos(waitNanos);
            continue;
          }
          queue.removeFirst();
          queuedBytes -= head.length();
          changed.signalAll();
          return head;
        }
        return null;
      } finally {
        lock.unlock();
      }
    }
  }
}
