-- Every test starts with the bank's own account.
INSERT INTO accounts (id, owner, balance_cents) VALUES (1, 'bank', 1000000);
