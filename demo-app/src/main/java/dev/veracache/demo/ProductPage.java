package dev.veracache.demo;

/** A row of {@code shop.product_page}, cached read-through in {@code pages}. */
public record ProductPage(long id, String title, String body, long version) {}
