import { describe, expect, it } from 'vitest';
import { decodeSlackText, escape, neutralize, plainFallback } from '../../src/slack/text.js';

describe('decodeSlackText', () => {
  it('reads text as Slack sends it: entities decoded, mailto links as their address', () => {
    expect(decodeSlackText('Jane Doe &lt;jane@x.io&gt;, bob@y.io').text).toBe('Jane Doe <jane@x.io>, bob@y.io');
    expect(decodeSlackText('<mailto:a@x.io|a@x.io>, <mailto:b@y.io>').text).toBe('a@x.io, b@y.io');
    expect(decodeSlackText('tom&amp;jerry@x.io').text).toBe('tom&jerry@x.io');
    // An entity that spells another one is decoded once, not twice.
    expect(decodeSlackText('&amp;lt;').text).toBe('&lt;');
  });

  it('takes mentions out, in order and once each; links and channels become their labels', () => {
    expect(decodeSlackText('<@U123> <@U456|sam> and <@U123>, c@z.io')).toEqual({ text: '    and  , c@z.io', mentions: ['U123', 'U456'] });
    expect(decodeSlackText('see <https://x.io|the site> in <#C1|general> <!here>').text).toBe('see the site in general !here');
  });
});

describe('Slack text out', () => {
  it('escapes the three control characters', () => {
    expect(escape('a & <b> c')).toBe('a &amp; &lt;b&gt; c');
  });

  it('neutralizes names: no formatting, no link, no mention', () => {
    const shown = neutralize('*URGENT* https://evil.example/login <!channel>');
    expect(shown).not.toMatch(/\*URGENT\*/);
    expect(shown).not.toContain('://');
    expect(shown).not.toContain('evil.example');
    expect(shown).not.toContain('<!channel>');
    expect(shown.replace(/\u2060/g, '')).toBe('*URGENT* https://evil.example/login &lt;!channel&gt;');
  });

  it('fallback text drops formatting marks but keeps addresses whole', () => {
    expect(plainFallback('*Sent 2 invitations* to john_doe@x.io — _done_')).toBe('Sent 2 invitations to john_doe@x.io — done');
    expect(plainFallback('`code` ~gone~')).toBe('code gone');
  });
});
