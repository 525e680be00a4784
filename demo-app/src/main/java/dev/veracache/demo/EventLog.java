package dev.veracache.demo;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/** The last {@value #SIZE} actions and what they did, newest first (the snapshot's {@code events}); each logged. */
@Component
public class EventLog {

  static final int SIZE = 30;
  private static final Logger log = LoggerFactory.getLogger(EventLog.class);
  private final Deque<Map<String, Object>> events = new ArrayDeque<>();

  public void add(String text) {
    log.info("demo: {}", text);
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("time", System.currentTimeMillis());
    event.put("text", text);
    synchronized (events) {
      events.addFirst(event);
      while (events.size() > SIZE) {
        events.removeLast();
      }
    }
  }

  public List<Map<String, Object>> newestFirst() {
    synchronized (events) {
      return new ArrayList<>(events);
    }
  }
}
