/**
 * The lifecycle both SQL fixtures share: databases made ahead of need
 * (`size` kept ready, refilled in the background), handed out one per test,
 * and dropped in the background afterwards; `close()` drops the unused ones
 * and waits for every drop.
 */
export class DatabasePool {
  readonly #size: number;
  readonly #make: () => Promise<string>;
  readonly #drop: (database: string) => Promise<unknown>;
  readonly #ready: Promise<string>[] = [];
  readonly #drops = new Set<Promise<void>>();

  constructor(size: number, make: () => Promise<string>, drop: (database: string) => Promise<unknown>) {
    this.#size = size;
    this.#make = make;
    this.#drop = drop;
  }

  /** A ready database (or a new one when none is), and a refill behind it. */
  async take(): Promise<string> {
    const database = await (this.#ready.shift() ?? this.#make());
    while (this.#ready.length < this.#size) {
      const made = this.#make();
      made.catch(() => {}); // reported to the test that takes it
      this.#ready.push(made);
    }
    return database;
  }

  /** Drops without holding up the next test. */
  dropLater(database: string): void {
    const drop = this.#drop(database)
      .then(() => {})
      .catch(() => {})
      .finally(() => this.#drops.delete(drop));
    this.#drops.add(drop);
  }

  async close(): Promise<void> {
    for (const unused of await Promise.allSettled(this.#ready.splice(0))) {
      if (unused.status === 'fulfilled') this.dropLater(unused.value);
    }
    await Promise.all(this.#drops);
  }
}
