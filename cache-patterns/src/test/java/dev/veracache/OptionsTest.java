package dev.veracache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.veracache.testing.CacheHooks;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;

/** The options types without servers: defaults from the DEFAULT_* constants, named breaker settings, toBuilder. */
class OptionsTest {

  private static final ValueCodec<String> CODEC = ValueCodec.utf8();

  @Test
  void clusterSeedsAreParsedAndABadOneIsNamedByItsIndex() {
    VeracacheOptions options = VeracacheOptions.clusterBuilder(List.of("redis://:secret@10.0.0.1:7000",
        "redis://10.0.0.2:7001")).clientName("orders").build();
    assertThat(options.isCluster()).isTrue();
    assertThat(options.clusterSeeds()).extracting(RedisURI::getPort).containsExactly(7000, 7001);
    assertThat(options.redisUri().getHost()).as("the first seed").isEqualTo("10.0.0.1");
    assertThat(options.toBuilder().build().clusterSeeds()).isEqualTo(options.clusterSeeds());
    assertThat(dev.veracache.internal.RedisSettings.of(options).toString()).contains("cluster seed=10.0.0.1:7000")
        .doesNotContain("secret");
    assertThat(VeracacheOptions.builder("redis://localhost:6379").build().isCluster()).isFalse();

    assertThatThrownBy(() -> VeracacheOptions.clusterBuilder(List.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seedUris");
    assertThatThrownBy(() -> VeracacheOptions.clusterBuilder(List.of("redis://10.0.0.1:7000", "http://10.0.0.2:7001")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seedUris[1]");
    assertThatThrownBy(() -> VeracacheOptions.clusterBuilder(List.of("redis-sentinel://10.0.0.1:26379#orders")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seedUris[0]")
        .hasMessageContaining("Sentinels");
    assertThatThrownBy(() -> VeracacheOptions.clusterBuilder(List.of("redis://10.0.0.1:7000/3")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seedUris[0]")
        .hasMessageContaining("database 3");
  }

  @Test
  void anAddressMappingIsKeptInOrderAndABadEntryIsNamed() {
    VeracacheOptions options = VeracacheOptions.clusterBuilder(List.of("redis://10.0.0.1:7000"))
        .addressMapping(java.util.Map.of("10.0.0.1:7000", "proxy.local:17000")).build();
    assertThat(options.addressMapping()).containsEntry("10.0.0.1:7000", "proxy.local:17000");
    assertThat(options.toBuilder().build().addressMapping()).isEqualTo(options.addressMapping());
    assertThat(VeracacheOptions.builder("redis://localhost:6379").build().addressMapping()).isEmpty();

    VeracacheOptions.Builder builder = VeracacheOptions.builder("redis://localhost:6379");
    assertThatThrownBy(() -> builder.addressMapping(java.util.Map.of("10.0.0.1", "proxy:1")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addressMapping key")
        .hasMessageContaining("'10.0.0.1'");
    assertThatThrownBy(() -> builder.addressMapping(java.util.Map.of("10.0.0.1:7000", "proxy:70000")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("addressMapping value of 10.0.0.1:7000")
        .hasMessageContaining("'proxy:70000'");
    assertThatThrownBy(() -> builder.addressMapping(java.util.Map.of(":7000", "proxy:7000")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("':7000'");
  }

  @Test
  void anAddressMappingStoresIpv6HostsBracketedSoLettuceReadsTheirPort() {
    VeracacheOptions options = VeracacheOptions.builder("redis://localhost:6379")
        .addressMapping(java.util.Map.of("fd00::1:7000", "::ffff:127.0.0.1:17000", "10.0.0.2:7001", "[::1]:17001"))
        .build();
    assertThat(options.addressMapping()).containsEntry("[fd00::1]:7000", "[::ffff:127.0.0.1]:17000")
        .containsEntry("10.0.0.2:7001", "[::1]:17001");
    assertThatThrownBy(() -> VeracacheOptions.builder("redis://localhost:6379")
        .addressMapping(java.util.Map.of("10.0.0.3:7002", "fd00::1")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'fd00::1'");
  }

  @Test
  void unsetClientSettingsTakeTheirDefaultConstants() {
    VeracacheOptions options = VeracacheOptions.builder("redis://localhost:6379").build();
    assertThat(options.clientName).isEqualTo(VeracacheOptions.DEFAULT_CLIENT_NAME);
    assertThat(options.commandTimeout).isEqualTo(VeracacheOptions.DEFAULT_COMMAND_TIMEOUT);
    assertThat(options.maxL1Ttl).isEqualTo(VeracacheOptions.DEFAULT_MAX_L1_TTL);
    assertThat(options.degradedL1Ttl).isEqualTo(VeracacheOptions.DEFAULT_DEGRADED_L1_TTL);
    assertThat(options.circuitBreaker).isEqualTo(VeracacheOptions.DEFAULT_CIRCUIT_BREAKER)
        .isEqualTo(BreakerSettings.defaults());
    assertThat(options.breakerFailureRatePercent).isEqualTo(BreakerSettings.DEFAULT_FAILURE_RATE_PERCENT);
    assertThat(options.breakerMinimumCalls).isEqualTo(BreakerSettings.DEFAULT_MINIMUM_CALLS);
    assertThat(options.breakerWindowSize).isEqualTo(BreakerSettings.DEFAULT_WINDOW_SIZE);
    assertThat(options.breakerOpenDuration).isEqualTo(BreakerSettings.DEFAULT_OPEN_DURATION);
    assertThat(options.trackingRetryInterval).isEqualTo(VeracacheOptions.DEFAULT_TRACKING_RETRY_INTERVAL);
    assertThat(options.heartbeatInterval).isEqualTo(VeracacheOptions.DEFAULT_HEARTBEAT_INTERVAL);
    assertThat(options.recoveryGrace).isEqualTo(VeracacheOptions.DEFAULT_RECOVERY_GRACE);
    assertThat(options.invalidationRetryInterval).isEqualTo(VeracacheOptions.DEFAULT_INVALIDATION_RETRY_INTERVAL);
    assertThat(options.maxPendingInvalidations).isEqualTo(VeracacheOptions.DEFAULT_MAX_PENDING_INVALIDATIONS);
    assertThat(options.inspector).isEqualTo(InspectorOptions.disabled());
  }

  @Test
  void unsetCacheSettingsTakeTheirDefaultConstants() {
    CacheOptions<String, String> options = CacheOptions.<String, String>builder("items", CODEC).build();
    assertThat(options.ttl).isEqualTo(CacheOptions.DEFAULT_TTL);
    assertThat(options.ttlJitter).isEqualTo(CacheOptions.DEFAULT_TTL_JITTER);
    assertThat(options.cacheNegatives).isEqualTo(CacheOptions.DEFAULT_NEGATIVE_CACHING);
    assertThat(options.negativeTtl).isEqualTo(CacheOptions.DEFAULT_NEGATIVE_TTL);
    assertThat(options.l1Enabled).isEqualTo(CacheOptions.DEFAULT_L1_ENABLED);
    assertThat(options.l1MaximumSize).isEqualTo(CacheOptions.DEFAULT_L1_MAXIMUM_SIZE);
    assertThat(options.l1Ttl).isEqualTo(CacheOptions.DEFAULT_L1_TTL);
    assertThat(options.leaseTtl).isEqualTo(CacheOptions.DEFAULT_LEASE_TTL);
    assertThat(options.leaseWaitTimeout).isEqualTo(CacheOptions.DEFAULT_LEASE_WAIT_TIMEOUT);
    assertThat(options.tombstoneTtl).isEqualTo(CacheOptions.DEFAULT_TOMBSTONE_TTL);
    assertThat(options.maxValueBytes).isEqualTo(CacheOptions.DEFAULT_MAX_VALUE_BYTES);
    assertThat(options.keyPrefix).isEmpty();
    assertThat(options.versioned()).isFalse();
    assertThat(options.hooks).isSameAs(CacheHooks.NONE);
    assertThat(options.listenerStalenessBound).isNull();
  }

  @Test
  void clientToBuilderKeepsEverySettingAndChangesOnlyWhatIsSet() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    BreakerSettings breaker = BreakerSettings.builder().failureRatePercent(25).minimumCalls(3).windowSize(7)
        .openDuration(Duration.ofMillis(700)).build();
    VeracacheOptions original = VeracacheOptions.builder("redis://:secret@cachehost:6380/2")
        .clientName("orders")
        .commandTimeout(Duration.ofMillis(123))
        .maxL1Ttl(Duration.ofMinutes(2))
        .degradedL1Ttl(Duration.ofMillis(400))
        .circuitBreaker(breaker)
        .trackingRetryInterval(Duration.ofMillis(11))
        .heartbeatInterval(Duration.ofMillis(111))
        .recoveryGrace(Duration.ofMillis(2222))
        .invalidationRetryInterval(Duration.ofMillis(333))
        .maxPendingInvalidations(44)
        .meterRegistry(registry)
        .build();

    VeracacheOptions copy = original.toBuilder().build();
    assertThat(copy).usingRecursiveComparison().isEqualTo(original);
    assertThat(copy.redisUri()).isSameAs(original.redisUri());

    VeracacheOptions second = original.toBuilder().clientName("orders-2").build();
    assertThat(second.clientName).isEqualTo("orders-2");
    assertThat(second).usingRecursiveComparison().ignoringFields("clientName").isEqualTo(original);
    assertThat(original.clientName).as("the original is not changed").isEqualTo("orders");
  }

  @Test
  void cacheToBuilderKeepsEverySettingAndChangesOnlyWhatIsSet() {
    Function<Long, String> keyEncoder = id -> "id-" + id;
    ToLongFunction<String> version = String::length;
    CacheHooks hooks = new CacheHooks() {};
    CacheOptions<Long, String> original = CacheOptions.<Long, String>builder("items", CODEC)
        .keyEncoder(keyEncoder)
        .keyPrefix("sku:")
        .ttl(Duration.ofMinutes(3))
        .ttlJitter(0.2)
        .negativeCaching(false, Duration.ofSeconds(7))
        .l1Enabled(false)
        .l1MaximumSize(99)
        .l1Ttl(Duration.ofSeconds(9))
        .leaseTtl(Duration.ofSeconds(8))
        .leaseWaitTimeout(Duration.ofMillis(600))
        .tombstoneTtl(Duration.ofSeconds(90))
        .maxValueBytes(4096)
        .version(version)
        .hooks(hooks)
        .listenerStalenessBound(Duration.ofSeconds(2))
        .build();

    CacheOptions<Long, String> copy = original.toBuilder().build();
    assertThat(copy).usingRecursiveComparison().isEqualTo(original);
    assertThat(copy.codec).isSameAs(original.codec);
    assertThat(copy.keyEncoder).isSameAs(keyEncoder);
    assertThat(copy.versionOf).isSameAs(version);
    assertThat(copy.hooks).isSameAs(hooks);

    CacheOptions<Long, String> plainShape = original.toBuilder().keyPrefix("id:").ttl(Duration.ofMinutes(4)).build();
    assertThat(plainShape.keyPrefix()).isEqualTo("id:");
    assertThat(plainShape.ttl).isEqualTo(Duration.ofMinutes(4));
    assertThat(plainShape).usingRecursiveComparison().ignoringFields("keyPrefix", "ttl").isEqualTo(original);
    assertThat(original.keyPrefix()).as("the original is not changed").isEqualTo("sku:");
  }

  /**
   * Every field of the options, including one added later, comes back from toBuilder(): each field is set to a value
   * no builder would give it (by reflection, so the test needs no update for a new field of a known type), and the
   * builder must hold exactly that.
   */
  @Test
  void toBuilderCopiesEveryFieldIncludingOnesAddedLater() throws Exception {
    VeracacheOptions client = VeracacheOptions.builder("redis://localhost:6379").build();
    // Derived from circuitBreaker for RedisLink; the builder has no field of their own.
    assertToBuilderCopiesEveryField(client, o -> ((VeracacheOptions) o).toBuilder(),
        "breakerFailureRatePercent", "breakerMinimumCalls", "breakerWindowSize", "breakerOpenDuration");
    CacheOptions<String, String> cache = CacheOptions.<String, String>builder("items", CODEC).build();
    assertToBuilderCopiesEveryField(cache, o -> ((CacheOptions<?, ?>) o).toBuilder());
    assertToBuilderCopiesEveryField(BreakerSettings.defaults(), o -> ((BreakerSettings) o).toBuilder());
    assertToBuilderCopiesEveryField(InspectorOptions.builder().build(), o -> ((InspectorOptions) o).toBuilder());
  }

  private static void assertToBuilderCopiesEveryField(Object options, Function<Object, Object> toBuilder,
      String... derived) throws Exception {
    List<Field> fields = new ArrayList<>();
    int n = 0;
    for (Field field : options.getClass().getDeclaredFields()) {
      if (Modifier.isStatic(field.getModifiers()) || List.of(derived).contains(field.getName())) {
        continue;
      }
      field.setAccessible(true);
      field.set(options, unusual(field, field.get(options), ++n));
      fields.add(field);
    }
    assertThat(fields).as("fields of %s", options.getClass().getSimpleName()).isNotEmpty();
    Object builder = toBuilder.apply(options);
    for (Field field : fields) {
      Field copy;
      try {
        copy = builder.getClass().getDeclaredField(field.getName());
      } catch (NoSuchFieldException e) {
        throw new AssertionError(options.getClass().getSimpleName() + "." + field.getName() + " has no builder field "
            + "of that name: name it alike, or list it here as derived", e);
      }
      copy.setAccessible(true);
      assertThat(copy.get(builder)).as("%s.toBuilder() copies %s", options.getClass().getSimpleName(),
          field.getName()).isEqualTo(field.get(options));
    }
  }

  /** A value of the field's type that differs from {@code current} and from every default. */
  private static Object unusual(Field field, Object current, int n) {
    Class<?> type = field.getType();
    if (type == Duration.class) {
      return Duration.ofMillis(7_000 + n);
    }
    if (type == int.class) {
      return 7_000 + n;
    }
    if (type == long.class) {
      return 7_000L + n;
    }
    if (type == float.class) {
      return 7f + n / 100f;
    }
    if (type == double.class) {
      return 0.001 * n;
    }
    if (type == boolean.class) {
      return !(Boolean) current;
    }
    if (type == String.class) {
      return "unusual-" + n;
    }
    if (type == RedisURI.class) {
      return RedisURI.create("redis://unusual-" + n + ":6390");
    }
    if (type == BreakerSettings.class) {
      return BreakerSettings.builder().windowSize(70 + n).build();
    }
    if (type == InspectorOptions.class) {
      return InspectorOptions.builder().sampleRate(0.5).maxInFlight(70 + n).build();
    }
    if (type == MeterRegistry.class) {
      return new SimpleMeterRegistry();
    }
    if (type.isInterface()) {
      return Proxy.newProxyInstance(OptionsTest.class.getClassLoader(), new Class<?>[] {type},
          (proxy, method, args) -> switch (method.getName()) {
            case "equals" -> proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            case "toString" -> "unusual " + type.getSimpleName() + " " + n;
            default -> null;
          });
    }
    throw new AssertionError("OptionsTest has no unusual value for " + type.getName() + " (field " + field.getName()
        + "): add one to unusual()");
  }

  @Test
  void toBuilderChecksTheCombinedSettingsAgainAtBuild() {
    CacheOptions<String, String> original = CacheOptions.<String, String>builder("items", CODEC).build();
    assertThatThrownBy(() -> original.toBuilder().leaseTtl(Duration.ofMillis(500)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("cache 'items': leaseWaitTimeout (PT1S) must not exceed leaseTtl (PT0.5S)");
    VeracacheOptions client = VeracacheOptions.builder("redis://localhost:6379").build();
    assertThatThrownBy(() -> client.toBuilder().maxL1Ttl(Duration.ofMillis(100)).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("degradedL1Ttl (PT1S) must not exceed maxL1Ttl (PT0.1S)");
  }

  @Test
  void breakerSettingsAreNamedAndKeepDefaultsForWhatIsNotSet() {
    BreakerSettings settings = BreakerSettings.builder().openDuration(Duration.ofSeconds(5)).build();
    assertThat(settings.openDuration()).isEqualTo(Duration.ofSeconds(5));
    assertThat(settings.failureRatePercent()).isEqualTo(BreakerSettings.DEFAULT_FAILURE_RATE_PERCENT);
    assertThat(settings.minimumCalls()).isEqualTo(BreakerSettings.DEFAULT_MINIMUM_CALLS);
    assertThat(settings.windowSize()).isEqualTo(BreakerSettings.DEFAULT_WINDOW_SIZE);

    BreakerSettings changed = settings.toBuilder().windowSize(40).build();
    assertThat(changed.windowSize()).isEqualTo(40);
    assertThat(changed.openDuration()).isEqualTo(Duration.ofSeconds(5));
    assertThat(changed.toBuilder().windowSize(settings.windowSize()).build()).isEqualTo(settings);

    VeracacheOptions options = VeracacheOptions.builder("redis://localhost:6379").circuitBreaker(changed).build();
    assertThat(options.breakerWindowSize).as("what RedisLink configures Resilience4j with").isEqualTo(40);
    assertThat(options.breakerOpenDuration).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void aBadBreakerSettingIsRefusedNamingTheSettingAndTheValue() {
    assertThatThrownBy(() -> BreakerSettings.builder().failureRatePercent(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("circuitBreaker failureRatePercent must be in (0, 100], was 0.0");
    assertThatThrownBy(() -> BreakerSettings.builder().failureRatePercent(100.5f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("circuitBreaker failureRatePercent must be in (0, 100], was 100.5");
    assertThatThrownBy(() -> BreakerSettings.builder().minimumCalls(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("circuitBreaker minimumCalls must be positive, was 0");
    assertThatThrownBy(() -> BreakerSettings.builder().windowSize(-3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("circuitBreaker windowSize must be positive, was -3");
    assertThatThrownBy(() -> BreakerSettings.builder().openDuration(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("circuitBreaker openDuration must be positive, was PT0S");
    assertThatThrownBy(() -> BreakerSettings.builder().openDuration(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("circuitBreaker openDuration must not be null");
    assertThatThrownBy(() -> BreakerSettings.builder().minimumCalls(30).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("circuitBreaker minimumCalls (30) must not exceed windowSize (20): a window of 20 calls never "
            + "holds 30");
    assertThatThrownBy(() -> VeracacheOptions.builder("redis://localhost:6379").circuitBreaker(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("circuitBreaker must not be null");
  }

  @Test
  void unsetInspectorSettingsTakeTheirDefaultConstantsAndMeanOff() {
    InspectorOptions options = InspectorOptions.builder().build();
    assertThat(options.sampleRate()).isEqualTo(InspectorOptions.DEFAULT_SAMPLE_RATE);
    assertThat(options.window()).isEqualTo(InspectorOptions.DEFAULT_WINDOW);
    assertThat(options.maxInFlight()).isEqualTo(InspectorOptions.DEFAULT_MAX_IN_FLIGHT);
    assertThat(options.enabled()).isFalse();
    assertThat(options).isEqualTo(InspectorOptions.disabled());
    InspectorOptions on = options.toBuilder().sampleRate(0.01).build();
    assertThat(on.enabled()).isTrue();
    assertThat(on.toBuilder().sampleRate(0).build()).isEqualTo(options);
  }

  @Test
  void aBadInspectorSettingIsRefusedNamingTheSettingAndTheValue() {
    assertThatThrownBy(() -> InspectorOptions.builder().sampleRate(1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("inspector sampleRate must be in [0, 1], was 1.5");
    assertThatThrownBy(() -> InspectorOptions.builder().sampleRate(-0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("inspector sampleRate must be in [0, 1], was -0.1");
    assertThatThrownBy(() -> InspectorOptions.builder().sampleRate(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("inspector sampleRate must be in [0, 1], was NaN");
    assertThatThrownBy(() -> InspectorOptions.builder().window(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("inspector window must be positive, was PT-1S");
    assertThatThrownBy(() -> InspectorOptions.builder().window(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("inspector window must be positive, was PT0S");
    assertThatThrownBy(() -> InspectorOptions.builder().window(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("inspector window must not be null");
    assertThatThrownBy(() -> InspectorOptions.builder().maxInFlight(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("inspector maxInFlight must be positive, was 0");
    assertThatThrownBy(() -> VeracacheOptions.builder("redis://localhost:6379").inspector(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("inspector must not be null");
  }
}
