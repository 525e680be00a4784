package dev.veracache.stack;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Just enough RESP to ask a Redis server for PING, FLUSHALL or INFO's pid at start-up and in tests, without pulling a
 * full client into this module. Answers the first reply line.
 */
final class RespClient {

  private RespClient() {}

  static String command(String host, int port, String password, int timeoutMillis, String... args)
      throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), timeoutMillis);
      socket.setSoTimeout(timeoutMillis);
      OutputStream out = socket.getOutputStream();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      if (password != null && !password.isEmpty()) {
        out.write(encode("AUTH", password));
        String auth = in.readLine();
        if (auth == null || !auth.startsWith("+OK")) {
          throw new IOException("Redis at " + host + ":" + port + " refused AUTH");
        }
      }
      out.write(encode(args));
      out.flush();
      String reply = in.readLine();
      if (reply == null) {
        throw new IOException("Redis at " + host + ":" + port + " closed the connection");
      }
      if (reply.startsWith("$")) {
        return in.readLine();
      }
      return reply;
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
