package dev.veracache.cdc;

/** A table mapping does not fit the table it maps (a missing column, a non-numeric version): the listener stops. */
public class MappingException extends RuntimeException {
  public MappingException(String message) {
    super(message);
  }
}
