import { describe, expect, it } from 'vitest';
import { namesakeWarning } from './namesakes.js';

const seen = '2026-12-07T08:00:00.000Z';

describe('namesakeWarning', () => {
  it('names the other devices of the same name, in any letter case, not the device itself', () => {
    const warning = namesakeWarning('docs', { id: 'd1', name: 'laptop' }, [
      { id: 'd1', name: 'laptop', owner: 'ann', lastSeen: seen },
      { id: 'd2', name: 'Laptop', owner: 'ann', lastSeen: null },
      { id: 'd3', name: 'desk', owner: 'ann', lastSeen: seen },
    ]);
    expect(warning?.message).toContain('also named "laptop"');
    expect(warning?.message).toContain('--device NAME');
    expect(warning?.detail['others']).toEqual([{ id: 'd2', owner: 'ann', lastSeen: null }]);
  });

  it('says nothing when the name is the device’s own only', () => {
    expect(
      namesakeWarning('docs', { id: 'd1', name: 'laptop' }, [
        { id: 'd1', name: 'laptop', owner: 'ann', lastSeen: seen },
        { id: 'd3', name: 'desk', owner: 'ann', lastSeen: seen },
      ]),
    ).toBeNull();
  });
});
