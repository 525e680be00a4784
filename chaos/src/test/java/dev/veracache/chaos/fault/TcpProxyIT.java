package dev.veracache.chaos.fault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.stack.EmbeddedStack;
import dev.veracache.stack.EmbeddedStackExtension;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link TcpProxy} between Lettuce (or a raw socket speaking inline Redis commands) and the real embedded Redis. Timing
 * is only asserted as a lower bound (latency adds at least its delay); everything else waits for an outcome with a
 * generous deadline, so a loaded machine makes the test slower, not red.
 */
@ExtendWith(EmbeddedStackExtension.class)
class TcpProxyIT {

  /** How long to wait for something that must happen: far above normal, only reached when the proxy is broken. */
  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final Duration SHORT_COMMAND_TIMEOUT = Duration.ofMillis(300);

  private static ClientResources resources;

  private final List<TcpProxy> proxies = new ArrayList<>();
  private final List<RedisClient> clients = new ArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();

  @BeforeAll
  static void createClientResources() {
    resources = DefaultClientResources.create();
  }

  @AfterAll
  static void shutDownClientResources() {
    resources.shutdown(0, 2, TimeUnit.SECONDS).syncUninterruptibly(); // rethrows a failure to shut down
  }

  @AfterEach
  void closeEverything() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
    for (RedisClient client : clients) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    proxies.forEach(TcpProxy::close);
  }

  @Test
  void forwardsSetAndGet(EmbeddedStack stack) {
    TcpProxy proxy = proxy("set-get", stack);
    RedisCommands<String, String> redis = connect(proxy, stack, "").sync();

    assertThat(redis.set("proxy:set-get", "hello")).isEqualTo("OK");
    assertThat(redis.get("proxy:set-get")).isEqualTo("hello");
    assertThat(proxy.openConnections()).isEqualTo(1);
    assertThat(proxy.host()).isEqualTo("127.0.0.1");
  }

  @Test
  void latencyDelaysBothDirectionsAndKeepsLargeValuesAndOrderIntact(EmbeddedStack stack) throws Exception {
    TcpProxy proxy = proxy("latency", stack);
    RedisClient client = client(proxy.proxiedRedisUri(stack.redis().uri()));
    StatefulRedisConnection<byte[], byte[]> connection = client.connect(ByteArrayCodec.INSTANCE);
    RedisCommands<byte[], byte[]> redis = connection.sync();
    redis.ping();

    proxy.latency(Duration.ofMillis(50));
    long started = System.nanoTime();
    assertThat(redis.ping()).isEqualTo("PONG");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).as("PING round trip with 50 ms each way")
        .isGreaterThanOrEqualTo(Duration.ofMillis(100));

    byte[] value = new byte[1024 * 1024];
    new Random(42).nextBytes(value);
    byte[] key = bytes("proxy:latency:large");
    assertThat(redis.set(key, value)).isEqualTo("OK");
    assertThat(redis.get(key)).as("1 MB of random bytes, there and back").isEqualTo(value);

    // Pipelined INCRs: any reordered, lost or repeated chunk would show in the replies Lettuce matches by order.
    RedisAsyncCommands<byte[], byte[]> async = connection.async();
    byte[] counter = bytes("proxy:latency:counter");
    redis.del(counter);
    List<RedisFuture<Long>> replies = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      replies.add(async.incr(counter));
    }
    assertThat(LettuceFutures.awaitAll(PATIENCE, replies.toArray(new RedisFuture<?>[0]))).isTrue();
    for (int i = 0; i < replies.size(); i++) {
      assertThat(replies.get(i).get()).isEqualTo(i + 1L);
    }

    proxy.latency(Duration.ZERO);
    assertThat(redis.ping()).isEqualTo("PONG");
  }

  @Test
  void dropConnectionsClosesBothSidesAndLettuceReconnects(EmbeddedStack stack) throws Exception {
    TcpProxy proxy = proxy("drop", stack);
    Socket raw = rawSocket(proxy);
    assertThat(command(raw, "CLIENT SETNAME proxy-drop-raw")).isEqualTo("+OK");
    RedisCommands<String, String> redis = connect(proxy, stack, "").sync();
    redis.set("proxy:drop", "kept");
    long idBefore = redis.clientId();
    assertThat(proxy.openConnections()).isEqualTo(2);

    proxy.dropConnections();

    assertClosedByPeer(raw);
    RedisCommands<String, String> direct = directClient(stack).connect().sync();
    waitUntil("Redis has seen the raw connection's server side close",
        () -> !direct.clientList().contains("name=proxy-drop-raw"));
    long idAfter = eventually(redis::clientId);
    assertThat(idAfter).as("Lettuce's new connection").isNotEqualTo(idBefore);
    assertThat(redis.get("proxy:drop")).isEqualTo("kept");
    assertThat(proxy.forwardedConnections()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void partitionFailsCommandsAndRefusesNewConnectionsUntilHeal(EmbeddedStack stack) throws Exception {
    TcpProxy proxy = proxy("partition", stack);
    RedisCommands<String, String> redis = connect(proxy, stack, "?timeout=" + SHORT_COMMAND_TIMEOUT.toMillis() + "ms")
        .sync();
    assertThat(redis.ping()).isEqualTo("PONG");

    proxy.partition();

    assertThat(proxy.openConnections()).isZero();
    assertThatThrownBy(redis::ping).isInstanceOf(RedisException.class);
    assertClosedByPeer(rawSocket(proxy));
    assertThat(proxy.openConnections()).isZero();

    proxy.heal();

    assertThat(eventually(redis::ping)).isEqualTo("PONG");
    assertThat(command(rawSocket(proxy), "PING")).isEqualTo("+PONG");
  }

  @Test
  void blackholeHoldsCommandsAndDeliversThemAfterHeal(EmbeddedStack stack) throws Exception {
    TcpProxy proxy = proxy("blackhole", stack);
    StatefulRedisConnection<String, String> connection = connect(proxy, stack, "");
    connection.sync().set("proxy:blackhole", "waited");
    Socket raw = rawSocket(proxy);
    assertThat(command(raw, "PING")).isEqualTo("+PONG");

    proxy.blackhole();
    RedisFuture<String> reply = connection.async().get("proxy:blackhole");
    waitUntil("the GET reached the proxy and is held", () -> proxy.pendingBytes() > 0);
    send(raw, "PING");
    Socket lateComer = rawSocket(proxy);
    send(lateComer, "ECHO late");

    assertThat(reply.isDone()).as("GET answered during the blackhole").isFalse();
    assertThatThrownBy(() -> reply.get(SHORT_COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS))
        .isInstanceOf(TimeoutException.class);
    raw.setSoTimeout((int) SHORT_COMMAND_TIMEOUT.toMillis());
    assertThatThrownBy(() -> readLine(raw)).as("PING answered during the blackhole")
        .isInstanceOf(SocketTimeoutException.class);
    assertThat(proxy.openConnections()).as("the connections stay open").isEqualTo(3);

    proxy.heal();

    assertThat(reply.get(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isEqualTo("waited");
    raw.setSoTimeout((int) PATIENCE.toMillis());
    assertThat(readLine(raw)).isEqualTo("+PONG");
    assertThat(readLine(lateComer)).isEqualTo("$4");
    assertThat(readLine(lateComer)).isEqualTo("late");
    assertThat(proxy.pendingBytes()).isZero();
  }

  @Test
  void aServerClosingOneConnectionClosesThatPairOnly(EmbeddedStack stack) throws Exception {
    TcpProxy proxy = proxy("server-close", stack);
    RedisCommands<String, String> redis = connect(proxy, stack, "").sync();
    Socket raw = rawSocket(proxy);

    assertThat(command(raw, "QUIT")).isEqualTo("+OK");
    assertClosedByPeer(raw);
    raw.close();
    waitUntil("the pair whose both sides ended is gone", () -> proxy.openConnections() == 1);

    assertThat(redis.ping()).isEqualTo("PONG");
    assertThat(command(rawSocket(proxy), "PING")).isEqualTo("+PONG");
  }

  @Test
  void proxiedRedisUriReplacesOnlyHostAndPort() {
    TcpProxy proxy = track(TcpProxy.start("uri", "127.0.0.1", 6379));
    String at = "127.0.0.1:" + proxy.port();

    assertThat(proxy.proxiedRedisUri("redis://:pw@127.0.0.1:6379/0?timeout=300ms"))
        .isEqualTo("redis://:pw@" + at + "/0?timeout=300ms");
    assertThat(proxy.proxiedRedisUri("rediss://user:p%40ss@redis.example.com:6380/2?timeout=1s&clientName=a"))
        .isEqualTo("rediss://user:p%40ss@" + at + "/2?timeout=1s&clientName=a");
    assertThat(proxy.proxiedRedisUri("redis://localhost")).isEqualTo("redis://" + at);
    assertThatThrownBy(() -> proxy.proxiedRedisUri("redis-socket:///tmp/redis.sock"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rejectsBadArgumentsWithClearMessages() {
    assertThatThrownBy(() -> TcpProxy.start("bad", "127.0.0.1", 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("targetPort must be 1..65535, was 0");
    assertThatThrownBy(() -> TcpProxy.start("bad", "127.0.0.1", 65536))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("targetPort must be 1..65535, was 65536");
    TcpProxy proxy = track(TcpProxy.start("args", "127.0.0.1", 6379));
    assertThatThrownBy(() -> proxy.latency(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("latency must not be negative");
    assertThatThrownBy(() -> proxy.proxiedRedisUri("redis://:secret@host name:1"))
        .isInstanceOf(IllegalArgumentException.class).message().doesNotContain("secret");
  }

  @Test
  void closeEndsEveryThreadAndSocketEvenWithStalledConnections(EmbeddedStack stack) throws Exception {
    TcpProxy proxy = proxy("close", stack);
    StatefulRedisConnection<String, String> connection = connect(proxy, stack, "");
    connection.sync().ping();
    Socket raw = rawSocket(proxy);
    assertThat(command(raw, "PING")).isEqualTo("+PONG");
    proxy.latency(Duration.ofSeconds(5));
    proxy.blackhole();
    RedisFuture<String> heldPing = connection.async().ping();
    waitUntil("the PING is held", () -> proxy.pendingBytes() > 0);
    assertThat(heldPing.isDone()).as("a blackholed PING is not answered").isFalse();
    assertThat(proxyThreads("close")).isNotEmpty();

    proxy.close();

    assertThat(proxyThreads("close")).as("threads alive after close()").isEmpty();
    assertThat(proxy.openConnections()).isZero();
    assertClosedByPeer(raw);
    assertThatThrownBy(() -> new Socket(proxy.host(), proxy.port()).close()).isInstanceOf(ConnectException.class);
    assertThatCode(proxy::close).as("a second close").doesNotThrowAnyException();
  }

  private TcpProxy proxy(String name, EmbeddedStack stack) {
    return track(TcpProxy.start(name, stack.redis().host(), stack.redis().port()));
  }

  private TcpProxy track(TcpProxy proxy) {
    proxies.add(proxy);
    return proxy;
  }

  private RedisClient client(String uri) {
    RedisClient client = RedisClient.create(resources, uri);
    clients.add(client);
    return client;
  }

  private RedisClient directClient(EmbeddedStack stack) {
    return client(stack.redis().uri());
  }

  /** A Lettuce connection through the proxy; query is appended to the Redis URI (e.g. a command timeout). */
  private StatefulRedisConnection<String, String> connect(TcpProxy proxy, EmbeddedStack stack, String query) {
    return client(proxy.proxiedRedisUri(stack.redis().uri() + query)).connect();
  }

  private Socket rawSocket(TcpProxy proxy) throws IOException {
    Socket socket = new Socket(proxy.host(), proxy.port());
    socket.setSoTimeout((int) PATIENCE.toMillis());
    sockets.add(socket);
    return socket;
  }

  /** Sends an inline Redis command and returns the first line of the reply. */
  private static String command(Socket socket, String inlineCommand) throws IOException {
    send(socket, inlineCommand);
    return readLine(socket);
  }

  private static void send(Socket socket, String inlineCommand) throws IOException {
    socket.getOutputStream().write((inlineCommand + "\r\n").getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
  }

  private static String readLine(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    while (true) {
      int next = in.read();
      if (next < 0) {
        throw new IOException("end of stream after " + line);
      }
      if (previous == '\r' && next == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
      }
      line.write(next);
      previous = next;
    }
  }

  /** The proxy closed this socket: reading gives end of stream, or a reset if it had unread bytes. */
  private static void assertClosedByPeer(Socket socket) throws IOException {
    socket.setSoTimeout((int) PATIENCE.toMillis());
    try {
      assertThat(socket.getInputStream().read()).as("read after the proxy closed the connection").isEqualTo(-1);
    } catch (SocketException reset) {
      // closed with unread input: a reset is a close too
    }
  }

  private static List<String> proxyThreads(String proxyName) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(name -> name.startsWith("tcp-proxy-" + proxyName + "-"))
        .toList();
  }

  /** Retries a Redis command until it succeeds (Lettuce reconnects with backoff), failing after PATIENCE. */
  private static <T> T eventually(Callable<T> command) throws Exception {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (true) {
      try {
        return command.call();
      } catch (RedisException e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("still failing after " + PATIENCE.toSeconds() + " s", e);
        }
        Thread.sleep(20);
      }
    }
  }

  private static void waitUntil(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + PATIENCE.toSeconds() + " s: " + what);
      }
      Thread.sleep(5);
    }
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
