import { describe, expect, it } from 'vitest';
import { SaidAgain } from './said-again.js';

describe('SaidAgain', () => {
  it('says a trouble when it starts, when it changes, once a minute while it lasts, and when it ends', () => {
    let now = 0;
    const said = new SaidAgain(60_000, () => now);
    expect(said.say(null)).toBe(false); // fine, and nothing said before
    expect(said.say('database: ECONNREFUSED')).toBe(true);
    now += 5_000;
    expect(said.say('database: ECONNREFUSED')).toBe(false);
    now += 5_000;
    expect(said.say('database: ETIMEDOUT')).toBe(true); // another reason
    now += 59_999;
    expect(said.say('database: ETIMEDOUT')).toBe(false);
    now += 1;
    expect(said.say('database: ETIMEDOUT')).toBe(true); // a minute on
    expect(said.say(null)).toBe(true); // over
    expect(said.say(null)).toBe(false);
    expect(said.say('database: ETIMEDOUT')).toBe(true); // back: said again at once
  });
});
