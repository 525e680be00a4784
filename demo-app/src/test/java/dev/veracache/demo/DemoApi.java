package dev.veracache.demo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The demo's HTTP API as its page uses it: GET a snapshot, POST an action. For tests. */
public final class DemoApi {

  private static final JsonMapper JSON = JsonMapper.builder().build();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String base;

  public DemoApi(int port) {
    this.base = "http://localhost:" + port;
  }

  public JsonNode snapshot() {
    return JSON.readTree(send(HttpRequest.newBuilder(URI.create(base + "/api/snapshot")).GET(), 200));
  }

  /** POSTs {@code /api/actions/<pathAndQuery>} and expects 200. */
  public JsonNode action(String pathAndQuery) {
    return action(pathAndQuery, 200);
  }

  public JsonNode action(String pathAndQuery, int expectedStatus) {
    return JSON.readTree(send(HttpRequest.newBuilder(URI.create(base + "/api/actions/" + pathAndQuery))
        .POST(HttpRequest.BodyPublishers.noBody()), expectedStatus));
  }

  /**
   * Opens {@code GET /api/stream} and reads its first {@code count} events named {@code snapshot}: their data.
   */
  public java.util.List<JsonNode> streamEvents(int count) {
    java.util.List<JsonNode> events = new java.util.ArrayList<>();
    try {
      HttpResponse<java.util.stream.Stream<String>> response = http.send(HttpRequest.newBuilder(
          URI.create(base + "/api/stream")).header("Accept", "text/event-stream").GET().build(),
          HttpResponse.BodyHandlers.ofLines());
      if (response.statusCode() != 200) {
        throw new AssertionError("GET /api/stream answered " + response.statusCode());
      }
      try (java.util.stream.Stream<String> lines = response.body()) {
        String event = null;
        for (java.util.Iterator<String> it = lines.iterator(); it.hasNext() && events.size() < count; ) {
          String line = it.next();
          if (line.startsWith("event:")) {
            event = line.substring("event:".length()).trim();
          } else if (line.startsWith("data:") && "snapshot".equals(event)) {
            events.add(JSON.readTree(line.substring("data:".length())));
          }
        }
      }
      return events;
    } catch (IOException e) {
      throw new AssertionError("cannot read the stream at " + base + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** The strategy of this id in a snapshot. */
  public static JsonNode strategy(JsonNode snapshot, String id) {
    for (JsonNode s : snapshot.get("strategies")) {
      if (id.equals(s.get("id").asString())) {
        return s;
      }
    }
    throw new AssertionError("no strategy '" + id + "' in " + snapshot.get("strategies"));
  }

  private String send(HttpRequest.Builder request, int expectedStatus) {
    try {
      HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != expectedStatus) {
        throw new AssertionError(request.build().method() + " " + request.build().uri() + " answered "
            + response.statusCode() + " (expected " + expectedStatus + "): " + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new AssertionError("cannot reach the demo at " + base + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
