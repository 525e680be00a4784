package dev.veracache.demo;

/** A row of {@code shop.price}, cached write-through in {@code prices}. */
public record Price(long productId, long cents, long version) {}
