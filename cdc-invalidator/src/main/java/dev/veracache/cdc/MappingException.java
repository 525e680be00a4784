package dev.veracache.cdc;

import dev.veracache.VeracacheException;

/**
 * A row does not fit the mapping of its table (a key column of a type its template cannot render faithfully, a version
 * that is not a non-negative integer): the listener stops rather than drop the invalidation. The message names the
 * table, the template or field, the column and the value's type.
 */
public class MappingException extends VeracacheException {
  public MappingException(String message) {
    super(message);
  }
}
