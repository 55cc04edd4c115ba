import pino from 'pino';
import { expect, test } from 'vitest';
import { FAILURE_WARN_EVERY_MS, FailureLog } from './failure-log.js';

interface Line {
  level: number;
  msg: string;
  failures?: number;
}

function logged(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Line) },
  );
  return { log, lines };
}

test('a run of failures is one warn a minute at most, and its end one info line', () => {
  const { log, lines } = logged();
  let now = 0;
  const failures = new FailureLog(log, 'event background work', () => now);
  // Four times a second for two and a half minutes (the database out of reach).
  for (; now < 150_000; now += 250) failures.failed(new Error('connect ECONNREFUSED'));
  const warns = lines.filter((l) => l.level === 40);
  expect(warns.map((l) => l.msg)).toEqual([
    'event background work failed',
    'event background work still failing',
    'event background work still failing',
  ]);
  expect(warns[1]?.failures).toBe(FAILURE_WARN_EVERY_MS / 250 + 1);
  failures.succeeded();
  failures.succeeded();
  const infos = lines.filter((l) => l.level === 30);
  expect(infos).toEqual([
    expect.objectContaining({ msg: 'event background work works again', failures: 600 }),
  ]);
  // A new run after that is told at once again.
  failures.failed(new Error('again'));
  expect(lines.filter((l) => l.level === 40)).toHaveLength(4);
});
