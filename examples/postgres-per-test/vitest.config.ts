import { cspec, postgres } from 'cspec/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cspec({
      services: {
        db: postgres({ image: 'cspec/postgres:17', migrations: './migrations', seed: './seed.sql' }),
      },
    }),
  ],
});
