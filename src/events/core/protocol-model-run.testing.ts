/**
 * Random runs of the event protocol's model (protocol-model.testing.ts) for
 * protocol.model.test.ts: the steps fast-check draws, and `run`, which plays them on a World,
 * checks safety after each, then drains every message.
 */
import fc from 'fast-check';
import { World } from './protocol-model.testing.js';

const site = fc.integer({ min: 0, max: 2 });
/** One step of a run: an upload, a vote, a message delivered or lost, a time-out, a crash. */
export const Step = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('upload' as const), site }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('deliver' as const), i: fc.nat() }), weight: 30 },
  { arbitrary: fc.record({ op: fc.constant('drop' as const), i: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('timeout' as const), i: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('crash' as const), site }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('vote' as const), site, accept: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant('decide' as const), deadline: fc.boolean() }),
    weight: 1,
  },
);

export type StepOf = typeof Step extends fc.Arbitrary<infer T> ? T : never;

function run0(world: World, step: StepOf): void {
  switch (step.op) {
    case 'upload':
      world.upload(step.site);
      break;
    case 'deliver':
      world.deliver(step.i);
      break;
    case 'drop':
      world.drop(step.i);
      break;
    case 'timeout':
      world.timeout(step.i);
      break;
    case 'crash':
      world.crash(step.site);
      break;
    case 'vote':
      world.vote(step.site, step.accept ? 'accept' : 'reject');
      break;
    case 'decide':
      world.masterDecides(step.deadline);
      break;
  }
}

/** A world after `steps`, safety checked after each; then every message drained. */
export function run(steps: readonly StepOf[]): World {
  const world = new World();
  for (const step of steps) {
    run0(world, step);
    world.checkSafety();
  }
  world.drain();
  world.masterDecides(true);
  world.drain();
  return world;
}
