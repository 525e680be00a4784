package dev.veracache.demo;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * {@code GET /api/stream}: server-sent events, one named {@code snapshot} a second to every open stream (one snapshot
 * computed per tick for all of them).
 *
 * <p>Invariant: every stream is completed at shutdown, before the web server's graceful stop (an open stream would
 * hold it for its whole timeout).
 */
@Component
public class SnapshotStream {

  private final List<SseEmitter> emitters = new CopyOnWriteArrayList<>();
  private final Snapshots snapshots;
  private volatile boolean closed;

  SnapshotStream(Snapshots snapshots) {
    this.snapshots = snapshots;
  }

  SseEmitter open() {
    SseEmitter emitter = new SseEmitter(0L);
    if (closed) {
      emitter.complete();
      return emitter;
    }
    emitter.onCompletion(() -> emitters.remove(emitter));
    emitter.onTimeout(() -> emitters.remove(emitter));
    emitter.onError(e -> emitters.remove(emitter));
    emitters.add(emitter);
    send(emitter, snapshots.snapshot());
    return emitter;
  }

  /** The one-second tick. */
  void tick() {
    if (emitters.isEmpty()) {
      return;
    }
    Map<String, Object> snapshot = snapshots.snapshot();
    for (SseEmitter emitter : emitters) {
      send(emitter, snapshot);
    }
  }

  private void send(SseEmitter emitter, Map<String, Object> snapshot) {
    try {
      emitter.send(SseEmitter.event().name("snapshot").data(snapshot, MediaType.APPLICATION_JSON));
    } catch (IOException | IllegalStateException e) { // the browser went away
      emitters.remove(emitter);
      emitter.completeWithError(e);
    }
  }

  void completeAll() {
    closed = true;
    for (SseEmitter emitter : emitters) {
      emitter.complete();
    }
    emitters.clear();
  }
}
