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
