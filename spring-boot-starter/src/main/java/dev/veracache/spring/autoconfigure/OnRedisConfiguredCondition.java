package dev.veracache.spring.autoconfigure;

import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/** Matches when a Redis for the caches is configured ({@link RedisUriResolver#configured}). */
class OnRedisConfiguredCondition extends SpringBootCondition {

  @Override
  public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
    return RedisUriResolver.configured(context.getEnvironment())
        ? ConditionOutcome.match("a Redis is configured (veracache.redis.uri or spring.data.redis.*)")
        : ConditionOutcome.noMatch("no veracache.redis.uri, spring.data.redis.url or spring.data.redis.host");
  }
}
