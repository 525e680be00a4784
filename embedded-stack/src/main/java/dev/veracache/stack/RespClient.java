package dev.veracache.stack;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough RESP2 to ask a Redis server for PING, FLUSHALL, CONFIG GET or INFO at start-up and in tests, without
 * pulling a full client into this module.
 */
final class RespClient {

  private RespClient() {}

  /**
   * The first line of the reply: a simple reply as is ({@code +PONG}, {@code -ERR ...}, {@code :1}), a bulk reply's
   * first line of content, {@code $-1} for a null bulk reply, {@code *n} for an array.
   */
  static String command(String host, int port, String password, int timeoutMillis, String... args)
      throws IOException {
    Object reply = call(host, port, password, timeoutMillis, args);
    if (reply == null) {
      return "$-1";
    }
    if (reply instanceof List<?> list) {
      return "*" + list.size();
    }
    String text = (String) reply;
    int newline = text.indexOf('\r');
    return newline < 0 ? text : text.substring(0, newline);
  }

  /**
   * The whole reply as text: a simple reply line as is ({@code -ERR ...} included), a bulk reply's whole content,
   * {@code $-1} for null, an array's items as text, one per line.
   */
  static String text(String host, int port, String password, int timeoutMillis, String... args) throws IOException {
    return asText(call(host, port, password, timeoutMillis, args));
  }

  private static String asText(Object reply) {
    if (reply == null) {
      return "$-1";
    }
    if (reply instanceof List<?> list) {
      List<String> items = new ArrayList<>();
      list.forEach(item -> items.add(asText(item)));
      return String.join("\n", items);
    }
    return (String) reply;
  }

  /** {@code redis_version} from INFO server, e.g. {@code 7.0.15}. */
  static String version(String host, int port, String password, int timeoutMillis) throws IOException {
    Object info = call(host, port, password, timeoutMillis, "INFO", "server");
    if (info instanceof String text && !text.startsWith("-")) {
      for (String line : text.split("\r\n")) {
        if (line.startsWith("redis_version:")) {
          return line.substring("redis_version:".length()).trim();
        }
      }
    }
    throw new IOException("Redis at " + host + ":" + port + " did not report redis_version in INFO server: "
        + info);
  }

  /** A configuration value ({@code CONFIG GET name}). */
  static String configGet(String host, int port, String password, int timeoutMillis, String name)
      throws IOException {
    Object reply = call(host, port, password, timeoutMillis, "CONFIG", "GET", name);
    if (reply instanceof List<?> list && list.size() == 2) {
      return (String) list.get(1);
    }
    throw new IOException("Redis at " + host + ":" + port + " answered CONFIG GET " + name + " with " + reply);
  }

  /** A simple reply line as is (+OK, -ERR ..., :1), a bulk reply's content, null, or a list of those. */
  private static Object call(String host, int port, String password, int timeoutMillis, String... args)
      throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), timeoutMillis);
      socket.setSoTimeout(timeoutMillis);
      OutputStream out = socket.getOutputStream();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      String where = "Redis at " + host + ":" + port;
      if (password != null && !password.isEmpty()) {
        out.write(encode("AUTH", password));
        out.flush();
        Object auth = readReply(in, where);
        if (!"+OK".equals(auth)) {
          throw new IOException(where + " refused AUTH");
        }
      }
      out.write(encode(args));
      out.flush();
      return readReply(in, where);
    }
  }

  private static Object readReply(InputStream in, String where) throws IOException {
    String line = readLine(in, where);
    if (line.startsWith("$")) {
      int length = Integer.parseInt(line.substring(1));
      if (length < 0) {
        return null;
      }
      byte[] content = in.readNBytes(length + 2); // and the CRLF after it
      if (content.length < length + 2) {
        throw new EOFException(where + " closed the connection mid-reply");
      }
      return new String(content, 0, length, StandardCharsets.UTF_8);
    }
    if (line.startsWith("*")) {
      int count = Integer.parseInt(line.substring(1));
      if (count < 0) {
        return null;
      }
      List<Object> items = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        items.add(readReply(in, where));
      }
      return items;
    }
    return line;
  }

  private static String readLine(InputStream in, String where) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int previous = -1;
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException(where + " closed the connection");
      }
      if (previous == '\r' && b == '\n') {
        byte[] bytes = line.toByteArray();
        return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
      }
      line.write(b);
      previous = b;
    }
  }

  private static byte[] encode(String... args) {
    StringBuilder sb = new StringBuilder("*").append(args.length).append("\r\n");
    for (String arg : args) {
      sb.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(arg).append("\r\n");
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }
}
