package dev.veracache;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** One of the Lua scripts in {@code src/main/resources/dev/veracache}, with its SHA-1 for EVALSHA. */
enum FenceScript {
  ACQUIRE("acquire.lua"),
  FILL("fill.lua"),
  PUT("put.lua"),
  INVALIDATE("invalidate.lua"),
  RELEASE("release.lua");

  final String source;
  final String sha1;

  FenceScript(String resource) {
    try (InputStream in = FenceScript.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing script resource dev/veracache/" + resource);
      }
      this.source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      this.sha1 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
          .digest(source.getBytes(StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
