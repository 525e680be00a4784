package dev.veracache.spring.shop;

/** A row of the test shop's product table; {@code version} grows with every write. */
public record Product(long id, String name, long version) {}
