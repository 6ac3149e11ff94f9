import type { Pool } from 'pg';

/** A tiny bank: accounts and transfers between them, in one transaction each. */
export class Bank {
  constructor(private readonly pool: Pool) {}

  async open(id: number, owner: string): Promise<void> {
    await this.pool.query('INSERT INTO accounts (id, owner) VALUES ($1, $2)', [id, owner]);
  }

  async balance(id: number): Promise<number> {
    const { rows } = await this.pool.query<{ balance_cents: string }>(
      'SELECT balance_cents FROM accounts WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw new Error(`no account ${id}`);
    return Number(rows[0].balance_cents);
  }

  async transfer(from: number, to: number, cents: number): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE accounts SET balance_cents = balance_cents - $2 WHERE id = $1', [
        from,
        cents,
      ]);
      await client.query('UPDATE accounts SET balance_cents = balance_cents + $2 WHERE id = $1', [to, cents]);
      await client.query(
        'INSERT INTO transfers (from_account, to_account, amount_cents) VALUES ($1, $2, $3)',
        [from, to, cents],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }
}
