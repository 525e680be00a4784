package dev.veracache;

/**
 * What {@link FlashSaleStock#decrementIfEnough} did: whether the units were taken (and the sale logged), the sale's id
 * (what the applied table records; keep it with the order), and the units left right after.
 */
public record Sale(boolean taken, String id, long left) {}
