package dev.veracache.demo;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;

/**
 * THE test configuration of the demo app (embedded mode, a random port): every test class that starts the app in the
 * test JVM uses this annotation and nothing else, so they all share one cached Spring context (one embedded stack,
 * one app start) instead of starting another.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@SpringBootTest(classes = DemoApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
public @interface DemoTestApplication {}
