CREATE TABLE accounts (
  id integer PRIMARY KEY,
  owner text NOT NULL,
  balance_cents bigint NOT NULL DEFAULT 0 CHECK (balance_cents >= 0)
);
