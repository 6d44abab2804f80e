import { describe, expect, it } from 'vitest';
import { emptySummary, mergeSummaries, refusedWhenNothingStored, type InviteSummary } from '../../src/invites/model.js';

describe('mergeSummaries', () => {
  it('keeps invitationIds in the order of sent then renewed, so each id still pairs with its address', () => {
    const first: InviteSummary = { ...emptySummary(), sent: ['a@x.io', 'b@x.io'], renewed: ['old@x.io'], invitationIds: ['id-a', 'id-b', 'id-old'] };
    const second: InviteSummary = { ...emptySummary(), sent: ['c@x.io'], renewed: ['older@x.io'], invitationIds: ['id-c', 'id-older'] };
    const merged = [first, second].reduce(mergeSummaries, emptySummary());
    const addresses = [...merged.sent, ...merged.renewed];
    expect(Object.fromEntries(addresses.map((address, i) => [address, merged.invitationIds[i]]))).toEqual({
      'a@x.io': 'id-a',
      'b@x.io': 'id-b',
      'c@x.io': 'id-c',
      'old@x.io': 'id-old',
      'older@x.io': 'id-older',
    });
  });
});

describe('refusedWhenNothingStored', () => {
  it('counts the refused entries only when nothing was stored, a repeat of a named address not counted', () => {
    const refused = { ...emptySummary(), invalid: [{ entry: 'nope', reason: 'no @' }, { entry: 'a@x.test', reason: 'listed twice' }], alreadyMember: ['a@x.test'], overLimit: ['b@x.test'] };
    expect(refusedWhenNothingStored(refused)).toBe(2);
    expect(refusedWhenNothingStored({ ...refused, awaitingApproval: [{ email: 'c@x.test', invitationId: 'i', reasons: [] }] })).toBe(0);
    expect(refusedWhenNothingStored({ ...refused, sent: ['d@x.test'] })).toBe(0);
    expect(refusedWhenNothingStored({ ...emptySummary(), alreadyInvited: [{ email: 'e@x.test', invitationId: 'i' }] })).toBe(0);
  });
});
