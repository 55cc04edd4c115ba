import { describe, expect, it } from 'vitest';
import { keepRecoveryUrl, recoveryUrlOf } from './recovery';

class MemoryStorage implements Storage {
  private readonly map = new Map<string, string>();
  get length() {
    return this.map.size;
  }
  clear() {
    this.map.clear();
  }
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  key(i: number) {
    return [...this.map.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
}

describe('recovery links kept by the browser', () => {
  it('keeps one link per event', () => {
    const storage = new MemoryStorage();
    keepRecoveryUrl(storage, 'evt_a', 'http://n1/e/evt_a?recover=x');
    keepRecoveryUrl(storage, 'evt_b', 'http://n1/e/evt_b?recover=y');
    expect(recoveryUrlOf(storage, 'evt_a')).toBe('http://n1/e/evt_a?recover=x');
    expect(recoveryUrlOf(storage, 'evt_c')).toBeNull();
  });

  it('never throws when the storage refuses', () => {
    const broken = new MemoryStorage();
    broken.setItem = () => {
      throw new Error('QuotaExceededError');
    };
    expect(() => {
      keepRecoveryUrl(broken, 'evt_a', 'u');
    }).not.toThrow();
  });
});
