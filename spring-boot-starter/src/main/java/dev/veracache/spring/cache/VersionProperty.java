package dev.veracache.spring.cache;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.function.ToLongFunction;

/**
 * Reads a cached value's row version by property name ({@code veracache.caches.<name>.version-property}): a record
 * component or accessor {@code version()}, or a getter {@code getVersion()}, returning an integral number. Looked up
 * once per class. A value without such a property, or whose property is not integral or null, fails with a message
 * naming the cache, the property and the class; the library then serves that value uncached and counts it.
 */
public final class VersionProperty implements ToLongFunction<Object> {

  private final String cacheName;
  private final String property;
  private final ClassValue<Method> accessors = new ClassValue<>() {
    @Override
    protected Method computeValue(Class<?> type) {
      return accessor(type);
    }
  };

  public VersionProperty(String cacheName, String property) {
    this.cacheName = cacheName;
    this.property = property;
  }

  @Override
  public long applyAsLong(Object value) {
    Method accessor = accessors.get(value.getClass());
    Object version;
    try {
      version = accessor.invoke(value);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(where(value.getClass()) + ": " + e, e);
    }
    if (version == null) {
      throw new IllegalArgumentException(where(value.getClass()) + " is null");
    }
    return ((Number) version).longValue();
  }

  private Method accessor(Class<?> type) {
    String getter = "get" + Character.toUpperCase(property.charAt(0)) + property.substring(1);
    for (String name : new String[] {property, getter}) {
      try {
        Method method = type.getMethod(name);
        if (Modifier.isStatic(method.getModifiers())) {
          continue;
        }
        Class<?> returned = method.getReturnType();
        if (returned == long.class || returned == int.class || returned == short.class || returned == Long.class
            || returned == Integer.class || returned == Short.class) {
          method.setAccessible(true);
          return method;
        }
        throw new IllegalArgumentException(where(type) + " is a " + returned.getName() + ", not an integral number");
      } catch (NoSuchMethodException e) {
        // try the next form
      }
    }
    throw new IllegalArgumentException(where(type) + " does not exist: no public " + property + "() or " + getter
        + "()");
  }

  private String where(Class<?> type) {
    return "cache '" + cacheName + "': version-property '" + property + "' of " + type.getName();
  }
}
