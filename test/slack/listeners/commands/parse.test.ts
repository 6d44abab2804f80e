import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../../src/slack/listeners/commands/parse.js';

describe('parseCommand', () => {
  it('nothing, or help, is the help', () => {
    expect(parseCommand('')).toEqual({ sub: 'help' });
    expect(parseCommand('  HELP ')).toEqual({ sub: 'help' });
  });

  it('invite with or without a list; a bare list means invite', () => {
    expect(parseCommand('invite')).toEqual({ sub: 'invite', list: '' });
    expect(parseCommand('invite a@x.io, b@y.io')).toEqual({ sub: 'invite', list: 'a@x.io, b@y.io' });
    expect(parseCommand('a@x.io, b@y.io')).toEqual({ sub: 'invite', list: 'a@x.io, b@y.io' });
    expect(parseCommand('<@U123> <mailto:c@z.io|c@z.io>')).toEqual({ sub: 'invite', list: '<@U123> <mailto:c@z.io|c@z.io>' });
  });

  it('a bare list whose first display name starts with a subcommand\'s word is a list', () => {
    for (const text of ['Help Desk <helpdesk@acme.com>, bob@acme.com', 'Members Team &lt;<mailto:team@acme.com|team@acme.com>&gt;']) {
      expect(parseCommand(text), text).toEqual({ sub: 'invite', list: text });
    }
    // Reading never writes: `invites …` is a search whatever follows, and a lower-case word is the subcommand.
    expect(parseCommand('invites pending Jane Doe <jane@x.io>')).toMatchObject({ sub: 'invites', status: 'pending' });
    expect(parseCommand('Invites Office <office@acme.com>')).toMatchObject({ sub: 'invites' });
    expect(parseCommand('help me <a@b.io> please')).toEqual({ sub: 'help' });
    expect(parseCommand('members Jane <jane@x.io>')).toEqual({ sub: 'members' });
    // A search for an address stays a search.
    expect(parseCommand('invites <mailto:jane@x.io|jane@x.io>')).toEqual({ sub: 'invites', search: 'jane@x.io' });
    expect(parseCommand('invites pending <mailto:jane@x.io|jane@x.io>')).toEqual({ sub: 'invites', status: 'pending', search: 'jane@x.io' });
    expect(parseCommand('invites Jane <mailto:jane@x.io|jane@x.io>')).toEqual({ sub: 'invites', search: 'Jane jane@x.io' });
    expect(parseCommand('help me')).toEqual({ sub: 'help' });
    // A mention is no address: a read-only subcommand stays one.
    expect(parseCommand('help x <@U0ADMIN>')).toEqual({ sub: 'help' });
    expect(parseCommand('members of <@U0ADMIN>')).toEqual({ sub: 'members' });
  });

  it('a change the command does not make, with an address, is no list to invite: the table is named', () => {
    for (const text of ['revoke jane@x.io', 'Resend <mailto:jane@x.io|jane@x.io>', 'renew jane@x.io', 'delete jane@x.io']) {
      expect(parseCommand(text), text).toMatchObject({ sub: 'unknown', closest: 'invites' });
    }
  });

  it('invites takes a status and search text, both optional', () => {
    expect(parseCommand('invites')).toEqual({ sub: 'invites' });
    expect(parseCommand('invites Expired')).toEqual({ sub: 'invites', status: 'expired' });
    expect(parseCommand('invites awaiting')).toEqual({ sub: 'invites', status: 'awaiting_approval' });
    expect(parseCommand('invites awaiting_approval bob')).toEqual({ sub: 'invites', status: 'awaiting_approval', search: 'bob' });
    expect(parseCommand('invites all jane doe')).toEqual({ sub: 'invites', status: 'all', search: 'jane doe' });
    expect(parseCommand('invites corp.test')).toEqual({ sub: 'invites', search: 'corp.test' });
    expect(parseCommand('invites pending &lt;x&gt;')).toEqual({ sub: 'invites', status: 'pending', search: '<x>' });
  });

  it('members; anything else is unknown, with the closest subcommand', () => {
    expect(parseCommand('members')).toEqual({ sub: 'members' });
    expect(parseCommand('memebrs')).toEqual({ sub: 'unknown', typed: 'memebrs', closest: 'members' });
    expect(parseCommand('launch rockets')).toEqual({ sub: 'unknown', typed: 'launch', closest: undefined });
  });
});
