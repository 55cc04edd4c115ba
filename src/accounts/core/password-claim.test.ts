import { describe, expect, it } from 'vitest';
import { passwordPutWins, type HeldPassword, type PasswordClaim } from './password-claim.js';

const held = (hlc: string, seeded = false): HeldPassword => ({ hlc, seeded });

describe('passwordPutWins', () => {
  it('creations and changes: the later HLC wins', () => {
    for (const claim of ['create', 'change'] as const) {
      expect(passwordPutWins(held('5'), claim, '7')).toBe(true);
      expect(passwordPutWins(held('5'), claim, '3')).toBe(false);
      expect(passwordPutWins(held('5'), claim, '5')).toBe(false);
    }
  });

  it('a seed never takes over a created or changed password, however late', () => {
    expect(passwordPutWins(held('5'), 'seed', '9')).toBe(false);
    expect(passwordPutWins(held('5'), 'seed', '1')).toBe(false);
  });

  it('any creation or change takes over a seeded password, however early', () => {
    expect(passwordPutWins(held('5', true), 'change', '1')).toBe(true);
    expect(passwordPutWins(held('5', true), 'create', '9')).toBe(true);
  });

  it('among seeds, the earliest holds', () => {
    expect(passwordPutWins(held('5', true), 'seed', '3')).toBe(true);
    expect(passwordPutWins(held('5', true), 'seed', '7')).toBe(false);
  });

  it('any order of puts ends with one password, the same at every node', () => {
    const puts: [PasswordClaim, string][] = [
      ['seed', '4'],
      ['seed', '2'],
      ['change', '3'],
      ['seed', '9'],
      ['change', '1'],
    ];
    const outcomes = new Set<string>();
    const orders = permutations(puts);
    for (const order of orders) {
      let row: (HeldPassword & { by: string }) | null = null;
      for (const [claim, hlc] of order) {
        if (row === null || passwordPutWins(row, claim, hlc)) {
          row = { hlc, seeded: claim === 'seed', by: `${claim}@${hlc}` };
        }
      }
      outcomes.add(row?.by ?? '');
    }
    expect([...outcomes]).toEqual(['change@3']);
  });
});

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
