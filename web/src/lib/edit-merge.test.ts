import { describe, expect, test } from 'vitest';
import { changedFields, describeFields, overridden } from './edit-merge';

const base = { title: 'Beach', category: 'Holiday', desc: 'Sand' };

describe('edit-merge', () => {
  test('changedFields names the fields that differ, in a fixed order', () => {
    expect(changedFields(base, base)).toEqual([]);
    expect(changedFields(base, { ...base, desc: 'Sea', title: 'Shore' })).toEqual([
      'title',
      'desc',
    ]);
  });

  test('overridden names the saved fields that hold something else now', () => {
    // Saved the title and category; another node's title won, the category stayed ours.
    const now = { title: 'SIM two', category: 'Seaside', desc: 'Sand' };
    expect(overridden({ title: 'SIM one', category: 'Seaside' }, now)).toEqual(['title']);
    expect(overridden({ desc: 'Sand' }, now)).toEqual([]);
  });

  test('describeFields says what the fields hold now, in a sentence', () => {
    const now = { title: 'SIM two', category: '', desc: 'A long text' };
    expect(describeFields(['title'], now)).toBe('the title is now “SIM two”');
    expect(describeFields(['title', 'category', 'desc'], now)).toBe(
      'the title is now “SIM two”, the category empty and the description changed',
    );
    expect(describeFields(['category', 'desc'], { ...now, category: 'Seaside' })).toBe(
      'the category is now “Seaside” and the description changed',
    );
  });
});
