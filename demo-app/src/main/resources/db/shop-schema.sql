-- The demo shop's schema, for MariaDB 11.4 (embedded mode: run by the app at start) and MySQL 8.4 (compose: run by
-- MySQL's init scripts, /docker-entrypoint-initdb.d). Idempotent. Rows are seeded by the app when the tables are empty.
CREATE DATABASE IF NOT EXISTS shop;

-- Cache-aside (@Cacheable "products"), invalidated by CDC: namespace products, key {id}, version column.
CREATE TABLE IF NOT EXISTS shop.product (
  id BIGINT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  category VARCHAR(40) NOT NULL,
  version BIGINT NOT NULL
);

-- Read-through (ReadThroughCache "pages"): a page is built from this row only, so the CDC mapping of this table is
-- all that can make it stale (namespace pages, key {id}).
CREATE TABLE IF NOT EXISTS shop.product_page (
  id BIGINT PRIMARY KEY,
  title VARCHAR(200) NOT NULL,
  body VARCHAR(2000) NOT NULL,
  version BIGINT NOT NULL
);

-- Write-through (WriteThroughCache "prices"), versioned; CDC-mapped too (namespace prices, key {product_id}).
CREATE TABLE IF NOT EXISTS shop.price (
  product_id BIGINT PRIMARY KEY,
  cents BIGINT NOT NULL,
  version BIGINT NOT NULL
);

-- Flash-sale stock, written behind (FlashSaleStock + StockFlusher): the database never goes below zero.
CREATE TABLE IF NOT EXISTS shop.stock (
  item BIGINT PRIMARY KEY,
  quantity BIGINT NOT NULL,
  CONSTRAINT stock_quantity_not_negative CHECK (quantity >= 0)
);

-- The stock flusher's applied sales (StockOptions.appliedTableDdl()): each sale id applied exactly once.
CREATE TABLE IF NOT EXISTS shop.veracache_stock_ops (
  op_id VARCHAR(64) PRIMARY KEY,
  outcome VARCHAR(8) NOT NULL
);
