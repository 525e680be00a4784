-- The shop of the contract stand-in: the tables the mapping file names, plus one unmapped table.
CREATE TABLE IF NOT EXISTS product (
  id BIGINT NOT NULL PRIMARY KEY,
  sku VARCHAR(40) NOT NULL,
  name VARCHAR(200) NOT NULL,
  price DECIMAL(10, 2) NOT NULL,
  version BIGINT NOT NULL,
  UNIQUE KEY product_sku (sku)
);
CREATE TABLE IF NOT EXISTS stock_applied (op_id VARCHAR(64) PRIMARY KEY, outcome VARCHAR(8) NOT NULL);
