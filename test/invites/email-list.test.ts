import { describe, expect, it } from 'vitest';
import { domainToASCII } from 'node:url';
import { normalizeEmail, parseEmailList } from '../../src/invites/email-list.js';

describe('parseEmailList', () => {
  it('keeps the address of "Name <address>" entries and drops the name', () => {
    expect(parseEmailList('Jane Doe <jane@x.io>')).toEqual({ emails: ['jane@x.io'], invalid: [], duplicates: 0 });
  });

  it('reads a spreadsheet cell pasted with its quotes, a comma or semicolon inside, as the addresses in it', () => {
    expect(parseEmailList('"a@x.io, b@x.io"\n"c@x.io; d@x.io"')).toEqual({ emails: ['a@x.io', 'b@x.io', 'c@x.io', 'd@x.io'], invalid: [], duplicates: 0 });
  });

  it('does not split a quoted display name at its comma', () => {
    const parsed = parseEmailList('"Doe, Jane" <jane@x.io>, "Roe; Rick" <rick@y.io>');
    expect(parsed.emails).toEqual(['jane@x.io', 'rick@y.io']);
    expect(parsed.invalid).toEqual([]);
  });

  it('reads Outlook\'s "Last, First <address>" (unquoted, or in a phone\'s curly quotes) as one entry; a name part that is no such thing is still reported', () => {
    expect(parseEmailList('Doe, Jane <jane.doe@corp.com>; Roe, Bob <bob.roe@corp.com>')).toEqual({ emails: ['jane.doe@corp.com', 'bob.roe@corp.com'], invalid: [], duplicates: 0 });
    expect(parseEmailList('\u201cDoe, Jane\u201d <jane@x.io>, \'Lee, Kim\' <kim@x.io>').emails).toEqual(['jane@x.io', 'kim@x.io']);
    // Not the last name of the entry after it: a lower-case word, several words, one before a line break or a bare address.
    for (const list of ['bob, Jane Doe <jane@x.io>', 'Bob Smith, Jane <jane@x.io>', 'Doe,\nJane <jane@x.io>', 'Doe, jane@x.io', 'Jane.Doe.x.io, Jane <jane@x.io>', 'Taro\uff20example.jp, Jane <jane@x.io>', 'X123, Jane <jane@x.io>']) {
      const parsed = parseEmailList(list);
      expect(parsed.invalid.length, list).toBeGreaterThan(0);
      expect(parsed.emails, list).toEqual(['jane@x.io']);
    }
  });

  it('lower-cases and de-duplicates, counting repeats, in first-seen order', () => {
    const parsed = parseEmailList('Bob@Y.io\nJane@X.IO, jane@x.io; JANE@x.io bob@y.io Jane Doe <jAnE@X.io>');
    expect(parsed.emails).toEqual(['bob@y.io', 'jane@x.io']);
    expect(parsed.duplicates).toBe(4);
    expect(parsed.invalid).toEqual([]);
  });

  it.each([
    ['newline', 'a@x.io\nb@x.io\nc@x.io'],
    ['CRLF', 'a@x.io\r\nb@x.io\r\nc@x.io\r\n'],
    ['comma', 'a@x.io,b@x.io,c@x.io'],
    ['semicolon', 'a@x.io;b@x.io;c@x.io'],
    ['space', 'a@x.io b@x.io   c@x.io'],
    ['tab', 'a@x.io\tb@x.io\t\tc@x.io'],
    ['a mix with blanks', ' a@x.io ,\t;\r\n\n b@x.io;;,, c@x.io ; '],
  ])('splits on %s', (_name, text) => {
    expect(parseEmailList(text)).toEqual({ emails: ['a@x.io', 'b@x.io', 'c@x.io'], invalid: [], duplicates: 0 });
  });

  it('accepts an array of lines as well as one text', () => {
    expect(parseEmailList(['a@x.io, b@x.io', 'Jane <jane@x.io>']).emails).toEqual(['a@x.io', 'b@x.io', 'jane@x.io']);
  });

  it('reports every invalid entry by name with a reason, and keeps the valid ones', () => {
    const parsed = parseEmailList('ok@x.io, not-an-email, @x.io, jane@, a@b@x.io, jane@localhost, ok2@x.io');
    expect(parsed.emails).toEqual(['ok@x.io', 'ok2@x.io']);
    expect(parsed.invalid).toEqual([
      { entry: 'not-an-email', reason: expect.stringMatching(/no @/) },
      { entry: '@x.io', reason: expect.stringMatching(/before the @/) },
      { entry: 'jane@', reason: expect.stringMatching(/after the @/) },
      { entry: 'a@b@x.io', reason: expect.stringMatching(/more than one @/) },
      { entry: 'jane@localhost', reason: expect.stringMatching(/no dot/) },
    ]);
  });

  it('reports a repeated invalid entry once', () => {
    expect(parseEmailList('junk junk, junk').invalid).toEqual([{ entry: 'junk', reason: expect.any(String) }]);
  });

  it('reports a bare name as invalid instead of dropping it', () => {
    const parsed = parseEmailList('Jane Doe\nbob@y.io');
    expect(parsed.emails).toEqual(['bob@y.io']);
    expect(parsed.invalid.map((i) => i.entry)).toEqual(['Jane', 'Doe']);
  });

  it('reports an empty <> entry', () => {
    const parsed = parseEmailList('Nobody <>');
    expect(parsed.emails).toEqual([]);
    expect(parsed.invalid).toHaveLength(1);
    expect(parsed.invalid[0]!.entry).toBe('<>');
  });

  it('accepts mailto: links in any case', () => {
    expect(parseEmailList('mailto:jane@x.io MAILTO:Bob@Y.io <mailto:ann@z.io>').emails).toEqual(['jane@x.io', 'bob@y.io', 'ann@z.io']);
  });

  it('converts IDN domains to their ASCII form (and de-duplicates across forms)', () => {
    const parsed = parseEmailList('Jürgen <jurgen@Bücher.DE>, jurgen@xn--bcher-kva.de, anna@例え.jp');
    expect(parsed.emails).toEqual(['jurgen@xn--bcher-kva.de', 'anna@xn--r8jz45g.jp']);
    expect(parsed.duplicates).toBe(1);
  });

  it('a stray "<" or quote does not swallow the rest of the list', () => {
    const parsed = parseEmailList('Jane <jane@x.io\nbob@y.io\n"Unclosed quote <ann@z.io>\ncid@w.io');
    expect(parsed.emails).toEqual(['jane@x.io', 'bob@y.io', 'ann@z.io', 'cid@w.io']);
    expect(parsed.invalid).toEqual([]);
  });

  it('takes several Name <address> entries on one line', () => {
    expect(parseEmailList('Jane <jane@x.io> Bob <bob@y.io> cid@w.io').emails).toEqual(['jane@x.io', 'bob@y.io', 'cid@w.io']);
  });

  it('cuts very long invalid entries when reporting them', () => {
    const junk = 'x'.repeat(5000);
    const parsed = parseEmailList(junk);
    expect(parsed.invalid).toHaveLength(1);
    expect(parsed.invalid[0]!.entry.length).toBeLessThanOrEqual(320);
  });
});

describe('normalizeEmail', () => {
  it('takes the dot of a sentence\'s end after the domain as the same domain', () => {
    expect(normalizeEmail('jane@x.io.')).toEqual({ email: 'jane@x.io' });
    expect(parseEmailList('Please invite jane@x.io.').emails).toEqual(['jane@x.io']);
  });

  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Jane.Doe+Tag@Example.COM ')).toEqual({ email: 'jane.doe+tag@example.com' });
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['jane', /no @/],
    ['jane@localhost', /no dot/],
    ['jane@intranet', /no dot/],
    [`${'a'.repeat(65)}@x.io`, /64/],
    [`jane@${'d'.repeat(64)}.io`, /not a valid domain/],
    [`${'a'.repeat(64)}@${Array.from({ length: 4 }, () => 'd'.repeat(60)).join('.')}.io`, /254/],
    ['jane..doe@x.io', /characters/],
    ['.jane@x.io', /characters/],
    ['jane doe@x.io', /characters/],
    ['jöhn@x.io', /characters/],
    ['jane@-x.io', /not a valid domain/],
    ['jane@x_y.io', /not a valid domain|top-level/],
    ['jane@x.io..', /not a valid domain/],
    ['jane@.', /nothing after the @|not a valid domain/],
    ['jane@x.123', /top-level|not a valid domain/],
    ['jane@x..io', /not a valid domain/],
  ])('refuses %j with a reason', (input, reason) => {
    const result = normalizeEmail(input);
    expect(result).toEqual({ reason: expect.stringMatching(reason) });
  });

  it('accepts the longest parts that are still allowed', () => {
    const local = 'a'.repeat(64);
    const label = 'd'.repeat(63);
    expect(normalizeEmail(`${local}@${label}.io`)).toEqual({ email: `${local}@${label}.io` });
  });

  it('judges a domain the same however often it is seen, and among thousands of others', () => {
    const domains = Array.from({ length: 2_500 }, (_, i) => (i % 3 === 0 ? `bad_${i}.io` : i % 3 === 1 ? `Münster${i}.de` : `ok${i}.io`));
    const first = domains.map((d) => normalizeEmail(`a@${d}`));
    const again = domains.map((d) => normalizeEmail(`b@${d}`));
    expect(again.map((r) => ('email' in r ? r.email.replace(/^b@/, 'a@') : r))).toEqual(first.map((r) => ('email' in r ? r.email : r)));
    expect(first[0]).toEqual({ reason: '"bad_0.io" is not a valid domain' });
    expect(first[1]).toEqual({ email: `a@${domainToASCII('münster1.de')}` });
    expect(normalizeEmail('a@nodot')).toEqual(normalizeEmail('z@nodot'));
  });

  it('splits very long lists by entry, keeping characters outside the BMP intact', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => (i % 2 ? `"Zoë 😀, ${i}" <p${i}@x.io>` : `p${i}@x.io`)).join(';\r\n');
    const parsed = parseEmailList(text);
    expect(parsed.emails).toHaveLength(20_000);
    expect(parsed.emails[19_999]).toBe('p19999@x.io');
    expect(parseEmailList('😀@x.io, a@x.io').invalid).toEqual([{ entry: '😀@x.io', reason: expect.any(String) }]);
  });
});

describe('parseEmailList on hostile input', () => {
  it('stays linear: pathological lists of 2 MB each finish in seconds, not the hours a backtracking parser takes', () => {
    const N = 2_000_000;
    const cases: Record<string, string> = {
      'a run of single quotes': 'x' + "'".repeat(N - 2) + 'x',
      'a run of double quotes': '"'.repeat(N),
      'unclosed angle brackets': '<'.repeat(N),
      'alternating quotes and brackets': '"<'.repeat(N / 2),
      'brackets around nothing': '('.repeat(N / 2) + ')'.repeat(N / 2),
      'only @': '@'.repeat(N),
      'a domain of many labels': 'a@' + 'b.'.repeat(N / 2 - 1),
      'a huge local part': 'a'.repeat(N) + '@x.io',
      'separators only': ',; \n'.repeat(N / 4),
      'name and address, repeated': 'N <a@b.co> '.repeat(Math.floor(N / 11)),
    };
    for (const [name, text] of Object.entries(cases)) {
      const started = performance.now();
      const parsed = parseEmailList(text);
      const ms = performance.now() - started;
      // Generous for a busy 2-core machine; quadratic work on 2 MB would take far longer.
      expect(ms, name).toBeLessThan(5_000);
      // None holds an address but the last, whose one address is counted once and the rest as repeats.
      const repeated = name === 'name and address, repeated';
      expect(parsed.emails, name).toEqual(repeated ? ['a@b.co'] : []);
      expect(parsed.duplicates, name).toBe(repeated ? Math.floor(N / 11) - 1 : 0);
    }
  });
});
