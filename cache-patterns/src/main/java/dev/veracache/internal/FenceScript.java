package dev.veracache.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One of the Lua scripts in {@code src/main/resources/dev/veracache/internal}, with its SHA-1 for EVALSHA. Each is loaded with
 * {@code record.lua} in front of it: the record layout, its parser and the exact version comparison live once, there.
 * Only {@link FenceProtocol} runs them: it owns their arguments and replies.
 */
enum FenceScript {
  ACQUIRE("acquire.lua"),
  FILL("fill.lua"),
  PUT("put.lua"),
  INVALIDATE("invalidate.lua"),
  RELEASE("release.lua"),
  /** Refresh-ahead: a new lifetime for a value, only if it is still the very record the refresh read. */
  EXTEND("extend.lua"),
  /** Clients: how far the CDC listeners of some namespaces have applied (multi-key). */
  PROGRESS("progress.lua"),
  /** The CDC listener: how far it has applied, checked against what it wrote last (multi-key). */
  PUBLISH("publish.lua"),
  /** The CDC listener on a cluster: one namespace's progress, after publish.lua checked every master's sequence. */
  PUBLISH_PROGRESS("publish_progress.lua"),
  /** Write-behind: the next version of a key, fenced before its write goes to the log. */
  RESERVE("reserve.lua"),
  /** Write-behind: the fence after a flush or a dead letter (versions never restart: newer pending records stay). */
  FLUSHED("flushed.lua"),
  /** Flash-sale stock (multi-key): open a sale, take units, settle a reservation, find orphaned reservations. */
  STOCK_OPEN("stock_open.lua"),
  STOCK_DECREMENT("stock_decrement.lua"),
  STOCK_SETTLE("stock_settle.lua"),
  STOCK_ORPHANS("stock_orphans.lua"),
  STOCK_CONFIRM("stock_confirm.lua"),
  STOCK_REAPED("stock_reaped.lua");

  final String source;
  final String sha1;

  FenceScript(String resource) {
    this.source = resource("record.lua") + resource(resource);
    try {
      this.sha1 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
          .digest(source.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String resource(String name) {
    try (InputStream in = FenceScript.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing script resource dev/veracache/internal/" + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
