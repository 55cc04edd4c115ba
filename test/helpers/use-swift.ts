/**
 * A Swift (test/helpers/swift.ts) for one test file: started before its tests, stopped after
 * them once the file's nodes are stopped. Kept apart from swift.ts, which the benches import
 * without vitest.
 */
import { afterAll, beforeAll } from 'vitest';
import { cleanup } from './node-process.js';
import { startSwift, type SwiftServer } from './swift.js';

/** Registers the file's Swift; call the returned function inside a test for the server. */
export function useSwift(): () => SwiftServer {
  let running: SwiftServer | undefined;
  beforeAll(async () => {
    running = await startSwift();
  });
  afterAll(async () => {
    await cleanup();
    await running?.stop();
  });
  return () => {
    if (!running) throw new Error('Swift did not start');
    return running;
  };
}
