import { describe, expect, it } from 'vitest';
import { parseMoment } from '../../src/shared/clock.js';

describe('parseMoment', () => {
  it('reads ISO 8601 and the other forms Date.parse takes', () => {
    expect(parseMoment('2026-02-28T09:00Z')).toBe(Date.UTC(2026, 1, 28, 9));
    expect(parseMoment('2026-03-01T09:00+01:00')).toBe(Date.UTC(2026, 2, 1, 8));
    expect(parseMoment('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
    expect(parseMoment('Tue, 01 Dec 2026 10:00:00 GMT')).toBe(Date.UTC(2026, 11, 1, 10));
  });

  it('refuses a day that does not exist, which Date.parse rolls into the next month', () => {
    expect(Date.parse('2026-02-30')).toBe(Date.UTC(2026, 2, 2));
    for (const value of ['2026-02-30', '2026-02-29T00:00Z', '2026-04-31T12:00+02:00', '2026-13-01', '2026-00-10', 'last tuesday']) {
      expect(parseMoment(value), value).toBeNaN();
    }
  });
});
