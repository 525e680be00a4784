package dev.veracache.demo;

/** A row of {@code shop.product}, cached cache-aside in {@code products} (its version fences the cache). */
public record Product(long id, String name, String category, long version) {}
