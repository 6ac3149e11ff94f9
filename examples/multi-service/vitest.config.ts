import { cspec, postgres, redis, service } from 'cspec/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cspec({
      services: {
        db: postgres(),
        cache: redis(),
        // Built from api/Dockerfile before the run (every step cached), then started on the
        // services' network, where it reaches the others by name.
        api: service({
          image: 'cspec-examples/notes-api:dev',
          build: { context: './api' },
          ports: [8080],
          env: {
            DATABASE_URL: 'postgres://postgres:cspec@db:5432/postgres',
            REDIS_URL: 'redis://cache:6379/0',
          },
          wait: { http: '/health' },
          dependsOn: ['db', 'cache'],
        }),
      },
    }),
  ],
});
