package dev.veracache.demo;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.stereotype.Component;

/** Once ready, prints ONE line to stdout (and logs it): {@code Veracache demo: open http://localhost:<port>/}. */
@Component
public class ReadyLine implements ApplicationListener<ApplicationReadyEvent> {

  public static final String PREFIX = "Veracache demo: open http://localhost:";
  private static final Logger log = LoggerFactory.getLogger(ReadyLine.class);

  @Override
  public void onApplicationEvent(ApplicationReadyEvent event) {
    String port = event.getApplicationContext().getEnvironment().getProperty("local.server.port", "8080");
    String line = PREFIX + port + "/";
    System.out.println(line);
    log.info(line);
  }
}
