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
        ? ConditionOutcome.match("a Redis is configured (veracache.redis.uri, veracache.redis.cluster-nodes or "
            + "spring.data.redis.*)")
        : ConditionOutcome.noMatch("no veracache.redis.uri, veracache.redis.cluster-nodes, spring.data.redis.url, "
            + "spring.data.redis.host or spring.data.redis.cluster.nodes");
  }
}
