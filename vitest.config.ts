import { defineConfig } from 'vitest/config';

// Three projects: `unit` runs pure and single-layer tests beside the code (fast); `web` the
// web app's pure logic (upload queue, countdown, API client...), in Node, no browser; `node`
// starts real node processes on 127.0.0.1 and drives them over HTTP, and, in test/web/, with a
// real browser (needs `npm run build` first).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'web',
          include: ['web/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file starts its own node processes; two cores, so keep files serial.
          fileParallelism: false,
        },
      },
    ],
  },
});
