import { describe, expect, it } from 'vitest';
import { suggestAddress } from '../../src/invites/typos.js';

describe('suggestAddress: likely typos in the domain', () => {
  it('a well-known provider mistyped: its name or its ending', () => {
    for (const [typed, meant] of [
      ['jane@gmial.com', 'jane@gmail.com'],
      ['jane@gamil.com', 'jane@gmail.com'],
      ['jane@hotmial.com', 'jane@hotmail.com'],
      ['jane@yaho.com', 'jane@yahoo.com'],
      ['jane@outlok.com', 'jane@outlook.com'],
      ['jane@gmail.con', 'jane@gmail.com'],
      ['jane@gmail.cm', 'jane@gmail.com'],
      ['jane@hotmail.con', 'jane@hotmail.com'],
      ['jane@yahoo.con', 'jane@yahoo.com'],
      ['jane@outlook.con', 'jane@outlook.com'],
      ['jane@live.con', 'jane@live.com'],
    ]) {
      expect(suggestAddress(typed!), typed).toBe(meant);
    }
  });

  it('a company\'s own domain is never taken for a provider it resembles, nor a provider for another', () => {
    for (const typed of ['jane@acme.com', 'jane@meta.com', 'jane@ibm.com', 'jane@hp.com', 'jane@sap.com', 'jane@gmx.net', 'jane@libero.it', 'jane@email.com', 'jane@corp.test', 'jane@acme.io', 'jane@gmail.com', 'jane@protonmail.ch', 'jane@foxmail.com', 'jane@q.com', 'jane@gmail.co.uk']) {
      expect(suggestAddress(typed), typed).toBeUndefined();
    }
  });
});
