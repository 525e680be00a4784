package dev.veracache;

import java.time.Duration;
import java.util.Map;

/**
 * Where a durable log lives and how its clients talk to it, whoever owns the log (a write-behind cache, a flash-sale
 * stock): for the producers, consumers and admin clients of {@link KafkaClients}, {@link FlushLoop} and
 * {@link DeadLetters}. {@code owner} names the owner in messages ("cache 'product'").
 */
record LogSettings(String owner, String bootstrapServers, Map<String, String> kafkaProperties, Duration sendTimeout,
    Duration startupTimeout) {}
