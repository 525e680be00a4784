package dev.veracache.demo;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * The demo's HTTP API (the page uses it; see README.md): {@code GET /api/snapshot}, {@code GET /api/stream} (SSE,
 * an event {@code snapshot} a second), and the actions, {@code POST /api/actions/...}, each answering
 * {@code {"action": ..., "text": ...}}, or 400 {@code {"error": ...}} naming the bad parameter, or 409 when the
 * action cannot run now.
 */
@RestController
@RequestMapping("/api")
public class DemoController {

  private final Snapshots snapshots;
  private final SnapshotStream stream;
  private final DemoActions actions;
  private final FlashSale sale;
  private final LoadGenerator load;

  DemoController(Snapshots snapshots, SnapshotStream stream, DemoActions actions, FlashSale sale,
      LoadGenerator load) {
    this.snapshots = snapshots;
    this.stream = stream;
    this.actions = actions;
    this.sale = sale;
    this.load = load;
  }

  @GetMapping("/snapshot")
  public Map<String, Object> snapshot() {
    return snapshots.snapshot();
  }

  @GetMapping("/stream")
  public SseEmitter stream() {
    return stream.open();
  }

  @PostMapping("/actions/sql-change")
  public Map<String, Object> sqlChange(@RequestParam(name = "productId", required = false) Long productId) {
    return answer("sql-change", actions.sqlChange(productId));
  }

  @PostMapping("/actions/pause-redis")
  public Map<String, Object> pauseRedis(@RequestParam(name = "seconds", defaultValue = "3") int seconds) {
    return answer("pause-redis", actions.pauseRedis(seconds));
  }

  @PostMapping("/actions/restart-listener")
  public Map<String, Object> restartListener(@RequestParam(name = "downSeconds", defaultValue = "3") int downSeconds) {
    return answer("restart-listener", actions.restartListener(downSeconds));
  }

  @PostMapping("/actions/flash-sale")
  public Map<String, Object> flashSale(@RequestParam(name = "stock", defaultValue = "100") long stock,
      @RequestParam(name = "buyers", defaultValue = "16") int buyers) {
    return answer("flash-sale", sale.start(stock, buyers));
  }

  @PostMapping("/actions/load")
  public Map<String, Object> load(@RequestParam(name = "on") boolean on) {
    return answer("load", load.set(on));
  }

  private static Map<String, Object> answer(String action, String text) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("action", action);
    answer.put("text", text);
    return answer;
  }

  @ExceptionHandler(IllegalArgumentException.class)
  ResponseEntity<Map<String, Object>> badParameter(IllegalArgumentException e) {
    return error(HttpStatus.BAD_REQUEST, e.getMessage());
  }

  @ExceptionHandler(MissingServletRequestParameterException.class)
  ResponseEntity<Map<String, Object>> missingParameter(MissingServletRequestParameterException e) {
    return error(HttpStatus.BAD_REQUEST, "parameter '" + e.getParameterName() + "' is required ("
        + e.getParameterType() + ")");
  }

  @ExceptionHandler(MethodArgumentTypeMismatchException.class)
  ResponseEntity<Map<String, Object>> wrongType(MethodArgumentTypeMismatchException e) {
    return error(HttpStatus.BAD_REQUEST, "parameter '" + e.getName() + "' must be "
        + (e.getRequiredType() == null ? "valid" : "a " + e.getRequiredType().getSimpleName()) + ", was '"
        + e.getValue() + "'");
  }

  @ExceptionHandler(DemoConflictException.class)
  ResponseEntity<Map<String, Object>> conflict(DemoConflictException e) {
    return error(HttpStatus.CONFLICT, e.getMessage());
  }

  private static ResponseEntity<Map<String, Object>> error(HttpStatus status, String message) {
    return ResponseEntity.status(status).body(Map.of("error", message));
  }
}
