package dev.veracache;

/** A row of the test table: id, name and a version the database increments on every update. */
public record Product(long id, String name, long version) {}
