package dev.veracache;

import java.util.Objects;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/** The default codec: JSON through Jackson 3. Readers and writers are built once per type. */
final class JsonValueCodec<V> implements ValueCodec<V> {

  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  private final ObjectReader reader;
  private final ObjectWriter writer;

  private JsonValueCodec(Class<V> type) {
    this.reader = MAPPER.readerFor(type);
    this.writer = MAPPER.writerFor(type);
  }

  static <V> JsonValueCodec<V> of(Class<V> type) {
    return new JsonValueCodec<>(Objects.requireNonNull(type, "type must not be null"));
  }

  @Override
  public byte[] encode(V value) {
    return writer.writeValueAsBytes(value);
  }

  @Override
  public V decode(byte[] bytes) {
    return reader.readValue(bytes);
  }
}
