/** Runs one migration or seed file on a MariaDB connection; a failure names the file. */
import type mysql from 'mysql2/promise';
import type { SqlFile } from '../provided.js';

export async function runScript(
  connection: mysql.Connection,
  service: string,
  script: SqlFile,
): Promise<void> {
  if (script.sql.trim() === '') return;
  try {
    await connection.query(script.sql);
  } catch (error) {
    const e = error as { message?: string; code?: string };
    throw new Error(
      `cspec: service "${service}": ${script.file} failed: ${e.message ?? String(error)}` +
        (e.code ? ` (${e.code})` : ''),
      { cause: error },
    );
  }
}
