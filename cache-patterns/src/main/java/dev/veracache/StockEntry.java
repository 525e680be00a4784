package dev.veracache;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * One flash-sale record of the log: keyed by the item (one item's records stay in one partition, in order), no value,
 * and headers naming the stock namespace, the operation, the reservation id and the amount. A DECREMENT is a sale the
 * buyer was told about; a RELEASE is the reaper asking for a reservation whose DECREMENT may never have been written
 * to be given back (it is, unless the DECREMENT came first).
 */
record StockEntry(String namespace, String item, Operation operation, String id, long amount,
    ConsumerRecord<String, byte[]> record) {

  static final String STOCK_HEADER = "veracache.stock";
  static final String ID_HEADER = "veracache.id";
  static final String AMOUNT_HEADER = "veracache.amount";

  enum Operation {
    DECREMENT,
    RELEASE
  }

  Headers headers() {
    RecordHeaders headers = new RecordHeaders();
    headers.add(STOCK_HEADER, utf8(namespace));
    headers.add(LogEntry.OPERATION_HEADER, utf8(operation.name()));
    headers.add(ID_HEADER, utf8(id));
    headers.add(AMOUNT_HEADER, utf8(Long.toString(amount)));
    return headers;
  }

  /** @throws IllegalArgumentException naming the record's position and what is missing or malformed */
  static StockEntry parse(ConsumerRecord<String, byte[]> record) {
    String where = record.topic() + "-" + record.partition() + "@" + record.offset();
    String namespace = header(record, STOCK_HEADER, where);
    String op = header(record, LogEntry.OPERATION_HEADER, where);
    String id = header(record, ID_HEADER, where);
    String amountText = header(record, AMOUNT_HEADER, where);
    Operation operation;
    try {
      operation = Operation.valueOf(op);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("stock record " + where + ": operation '" + op + "' is not DECREMENT or "
          + "RELEASE");
    }
    long amount;
    try {
      amount = Long.parseLong(amountText);
    } catch (NumberFormatException e) {
      amount = 0;
    }
    if (amount < 1) {
      throw new IllegalArgumentException("stock record " + where + ": amount '" + amountText + "' is not >= 1");
    }
    if (record.key() == null || id.isEmpty() || id.length() > 64) {
      throw new IllegalArgumentException("stock record " + where + " has no item key or a bad id '" + id + "'");
    }
    return new StockEntry(namespace, record.key(), operation, id, amount, record);
  }

  private static String header(ConsumerRecord<String, byte[]> record, String name, String where) {
    return LogEntry.header(record, name, "stock record " + where, "a Veracache flash-sale stock");
  }

  private static byte[] utf8(String s) {
    return LogEntry.utf8(s);
  }
}
