package dev.veracache.spring.cache;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.cache.interceptor.BeanFactoryCacheOperationSourceAdvisor;
import org.springframework.core.Ordered;
import org.springframework.core.PriorityOrdered;

/**
 * Marks each call of a cached method (around Spring's {@code CacheInterceptor}) so that a {@code put} fills only under
 * the lease of a read opened in that same call, and every read the call left open is abandoned when it ends; see
 * {@link OpenReads}. Installed by wrapping the advice of Spring's cache advisor as it is created.
 */
public final class OpenReadScope implements MethodInterceptor {

  private final MethodInterceptor cacheInterceptor;

  OpenReadScope(MethodInterceptor cacheInterceptor) {
    this.cacheInterceptor = cacheInterceptor;
  }

  @Override
  public Object invoke(MethodInvocation invocation) throws Throwable {
    long outer = OpenReads.beginCall();
    try {
      return cacheInterceptor.invoke(invocation);
    } finally {
      OpenReads.endCall(outer);
    }
  }

  /**
   * The bean post-processor that wraps the cache advisor's interceptor (once). It is {@link PriorityOrdered}: the
   * auto-proxy creator (an ordered post-processor) instantiates the advisor while later post-processors are created,
   * and one registered after that would never see it.
   */
  public static Installer installer() {
    return new Installer();
  }

  /**
   * Wraps Spring's cache advisor's interceptor in an {@link OpenReadScope}. Declare a bean of this type (not of
   * {@code BeanPostProcessor}): Spring sorts post-processors by the declared type before it creates them.
   */
  public static final class Installer implements BeanPostProcessor, PriorityOrdered {

    private Installer() {}

      @Override
      public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
      }

      @Override
      public Object postProcessAfterInitialization(Object bean, String beanName) {
        if (bean instanceof BeanFactoryCacheOperationSourceAdvisor advisor
            && advisor.getAdvice() instanceof MethodInterceptor interceptor
            && !(interceptor instanceof OpenReadScope)) {
          advisor.setAdvice(new OpenReadScope(interceptor));
        }
        return bean;
      }
  }
}
