package dev.veracache.spring.cdc;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a {@link CdcConfigurationException}, wherever it is in the failure's causes, into Spring Boot's
 * "APPLICATION FAILED TO START / Description / Action" report (registered in {@code META-INF/spring.factories}), so
 * the problem is what a person reads first instead of a bean-creation trace.
 */
public class CdcFailureAnalyzer extends AbstractFailureAnalyzer<CdcConfigurationException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, CdcConfigurationException cause) {
    return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
  }
}
