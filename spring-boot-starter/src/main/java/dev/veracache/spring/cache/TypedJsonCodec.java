package dev.veracache.spring.cache;

import dev.veracache.ValueCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.DefaultTyping;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.jsontype.BasicPolymorphicTypeValidator;

/**
 * The codec of a Spring cache without a {@code value-type}: a method may return any class, so each value is written
 * with its class name ({@code <class>\n<json>}), and nested values of declared type {@code Object} (a list's
 * elements) carry theirs (Jackson's default typing for {@code Object} only: a field declared {@code List} or
 * {@code Map} is read by its declared type, whatever list or map it held). A class is read back only if it is trusted: in the application's
 * packages or {@code veracache.trusted-packages}, or one of a few JDK value types; anything else in Redis is refused
 * (the library reports it, drops the record and loads the row), so a Redis writer cannot make this JVM build an
 * arbitrary class.
 *
 * <p>A list, set or map is read back as an {@code ArrayList}, {@code LinkedHashSet} or {@code LinkedHashMap}.
 */
final class TypedJsonCodec implements ValueCodec<Object> {

  private static final Set<String> JDK_VALUE_TYPES = Set.of("java.lang.String", "java.lang.Long", "java.lang.Integer",
      "java.lang.Short", "java.lang.Byte", "java.lang.Double", "java.lang.Float", "java.lang.Boolean",
      "java.lang.Character", "java.math.BigDecimal", "java.math.BigInteger", "java.util.UUID", "java.util.Date",
      "java.util.ArrayList", "java.util.LinkedHashSet", "java.util.LinkedHashMap");

  private final List<String> trustedPackages;
  private final ObjectMapper mapper;
  private final ClassLoader classLoader;

  TypedJsonCodec(List<String> trustedPackages, ClassLoader classLoader) {
    this.trustedPackages = trustedPackages.stream().map(p -> p.endsWith(".") ? p : p + ".").toList();
    this.classLoader = classLoader;
    BasicPolymorphicTypeValidator.Builder validator = BasicPolymorphicTypeValidator.builder()
        .allowIfSubType((context, type) -> trusted(type.getName()));
    this.mapper = JsonMapper.builder()
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .activateDefaultTyping(validator.build(), DefaultTyping.JAVA_LANG_OBJECT)
        .build();
  }

  boolean trusted(String className) {
    if (JDK_VALUE_TYPES.contains(className) || className.startsWith("java.time.")) {
      return true;
    }
    for (String prefix : trustedPackages) {
      if (className.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public byte[] encode(Object value) {
    Object plain = plainCollection(value);
    Class<?> type = plain.getClass();
    byte[] json = mapper.writerFor(type).writeValueAsBytes(plain);
    byte[] name = (type.getName() + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] record = new byte[name.length + json.length];
    System.arraycopy(name, 0, record, 0, name.length);
    System.arraycopy(json, 0, record, name.length, json.length);
    return record;
  }

  @Override
  public Object decode(byte[] bytes) throws ClassNotFoundException {
    int newline = 0;
    while (newline < bytes.length && bytes[newline] != '\n') {
      newline++;
    }
    if (newline == bytes.length) {
      throw new IllegalArgumentException("not a typed value: no class name");
    }
    String className = new String(bytes, 0, newline, StandardCharsets.UTF_8);
    if (!trusted(className)) {
      throw new IllegalArgumentException("class " + className + " is not trusted (add its package to "
          + "veracache.trusted-packages, or set the cache's value-type)");
    }
    Class<?> type = Class.forName(className, false, classLoader);
    return mapper.readerFor(type).readValue(bytes, newline + 1, bytes.length - newline - 1);
  }

  /** A list, set or map of any kind as a plain JDK one (what is read back); any other value as it is. */
  private static Object plainCollection(Object value) {
    if (value instanceof Set<?> set) {
      return set instanceof LinkedHashSet<?> ? set : new LinkedHashSet<>(set);
    } else if (value instanceof Collection<?> collection) {
      return collection instanceof ArrayList<?> ? collection : new ArrayList<>(collection);
    } else if (value instanceof Map<?, ?> map) {
      return map instanceof LinkedHashMap<?, ?> ? map : new LinkedHashMap<>(map);
    }
    return value;
  }
}
