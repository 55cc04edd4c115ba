import { describe, expect, it } from 'vitest';
import { applyAccess, mergeAccess, NO_ACCESS, type Access, type AccessChange } from './access.js';

const hlc = (n: number) => `${String(n).padStart(16, '0')}-0000-aaaaaaaaaaaaaaaa`;

/** Every order of a list. */
function orders<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) =>
    orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('an account’s access', () => {
  const changes: [AccessChange, string][] = [
    [{ role: 'admin' }, hlc(3)],
    [{ disabled: true }, hlc(2)],
    [{ role: 'user', disabled: false }, hlc(1)],
    [{ disabled: false }, hlc(5)],
  ];

  it('ends the same whatever order its changes arrive in', () => {
    const ends = orders(changes).map((order) =>
      order.reduce<Access>((access, [change, at]) => applyAccess(access, change, at), NO_ACCESS),
    );
    for (const end of ends) {
      expect(end).toEqual({ role: 'admin', roleHlc: hlc(3), disabled: false, disabledHlc: hlc(5) });
    }
  });

  it('keeps each register apart: a later change of one leaves the other as it was', () => {
    const promoted = applyAccess(NO_ACCESS, { role: 'admin' }, hlc(1));
    const disabled = applyAccess(promoted, { disabled: true }, hlc(9));
    expect(disabled).toEqual({
      role: 'admin',
      roleHlc: hlc(1),
      disabled: true,
      disabledHlc: hlc(9),
    });
    // An older role change loses to the newer one; the state is not touched by it.
    expect(applyAccess(disabled, { role: 'user' }, hlc(0))).toEqual(disabled);
  });

  it('folds changes kept apart (before the account arrived) into it, in either order', () => {
    const created: Access = { role: 'user', roleHlc: hlc(4), disabled: false, disabledHlc: '' };
    const early = applyAccess(NO_ACCESS, { disabled: true, role: 'admin' }, hlc(2));
    const folded = mergeAccess(created, early);
    expect(folded).toEqual({ role: 'user', roleHlc: hlc(4), disabled: true, disabledHlc: hlc(2) });
    expect(mergeAccess(early, created)).toEqual(folded);
  });
});
