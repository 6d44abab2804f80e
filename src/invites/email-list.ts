import { domainToASCII } from 'node:url';

export interface InvalidEntry {
  entry: string;
  reason: string;
}

export interface ParsedEmailList {
  /** Normalized (trimmed, lower-cased, IDN domain in ASCII), de-duplicated, in first-seen order. */
  emails: string[];
  invalid: InvalidEntry[];
  /** How many entries repeated an earlier one. */
  duplicates: number;
}

export const MAX_LIST_CHARS = 2_000_000;

const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks one address; returns the normalized address or why it is not one. */
export function normalizeEmail(input: string): { email: string } | { reason: string } {
  const value = input.trim().replace(/^mailto:/i, '').toLowerCase();
  if (value.length === 0) return { reason: 'empty' };
  const at = value.lastIndexOf('@');
  if (at < 0) return { reason: 'not an email address (no @)' };
  const local = value.slice(0, at);
  // One dot after the domain is the end of a sentence it was copied from (or a fully qualified name): the same domain.
  const rawDomain = value.slice(at + 1).replace(/(?<=[^.])\.$/, '');
  if (local.length === 0) return { reason: 'nothing before the @' };
  if (rawDomain.length === 0) return { reason: 'nothing after the @' };
  if (local.includes('@')) return { reason: 'more than one @' };
  if (local.length > 64) return { reason: 'the part before @ is longer than 64 characters' };
  if (!LOCAL_PART.test(local)) return { reason: 'the part before @ has characters an address cannot have' };
  const domain = checkDomain(rawDomain);
  if ('reason' in domain) return { reason: domain.reason };
  const email = `${local}@${domain.ascii}`;
  if (email.length > 254) return { reason: 'longer than 254 characters' };
  return { email };
}

function checkDomain(rawDomain: string): { ascii: string } | { reason: string } {
  const domain = domainToASCII(rawDomain);
  if (!domain) return { reason: `"${rawDomain}" is not a valid domain` };
  const labels = domain.split('.');
  if (labels.length < 2) return { reason: `the domain "${rawDomain}" has no dot (like example.com)` };
  if (!labels.every((l) => DOMAIN_LABEL.test(l))) return { reason: `"${rawDomain}" is not a valid domain` };
  if (!/^([a-z]{2,63}|xn--[a-z0-9-]+)$/.test(labels[labels.length - 1]!)) return { reason: `"${rawDomain}" does not end in a real top-level domain` };
  return { ascii: domain };
}

/**
 * Splits pasted text into entries: newlines, commas and semicolons always separate; whitespace
 * separates too, except inside quotes and inside a `Display Name <address>` entry, whose name is
 * dropped and whose address is kept.
 */
export function splitEntries(raw: string): string[] {
  const segments: string[] = [];
  /** What ended each segment (the last one: nothing). */
  const ends: string[] = [];
  let start = 0;
  let quoted = false;
  let angled = false;
  // By UTF-16 unit: every character looked at is ASCII, and no half of a surrogate pair is one.
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    // A line break always ends an entry: a stray `<` or quote must not swallow the rest of the list.
    if (ch === '\n' || ch === '\r') quoted = angled = false;
    if (ch === '"' && !angled) quoted = !quoted;
    else if (ch === '<' && !quoted) angled = true;
    else if (ch === '>' && !quoted) angled = false;
    if (!quoted && !angled && (ch === '\n' || ch === '\r' || ch === ',' || ch === ';')) {
      segments.push(raw.slice(start, i));
      ends.push(ch);
      start = i + 1;
    }
  }
  segments.push(raw.slice(start));
  ends.push('');

  const entries: string[] = [];
  for (const [index, segment] of segments.entries()) {
    const trimmed = segment.trim();
    if (!trimmed) continue;
    if (lastNameFirst(trimmed, ends[index]!, segments[index + 1])) continue;
    if (!trimmed.includes('<')) {
      // Without brackets a quoted comma holds no display name: `"a@x.io, b@x.io"` (a spreadsheet
      // cell pasted with its quotes) is two addresses.
      for (const token of trimmed.split(/[\s,;]+/)) {
        const entry = stripWrapping(token);
        if (entry) entries.push(entry);
      }
      continue;
    }
    // `Name <addr>` (possibly several on one line): words with an @ outside brackets are
    // addresses of their own; other words outside brackets are display names.
    const pattern = /<([^<>]*)>?/g;
    let last = 0;
    for (let match = pattern.exec(trimmed); match; match = pattern.exec(trimmed)) {
      if (match.index > last) for (const address of bareAddresses(trimmed.slice(last, match.index))) entries.push(address);
      const inner = match[1]!.trim();
      entries.push(inner || match[0]);
      last = match.index + match[0].length;
    }
    const rest = trimmed.slice(last).trim();
    if (rest) entries.push(...rest.split(/\s+/).map(stripWrapping).filter(Boolean));
  }
  return entries;
}

/**
 * Whether `segment` is the last name of an Outlook-style `Doe, Jane <jane@x.io>` (the name unquoted,
 * or in quotes a phone turned curly): one capitalised word, no address, ended by a comma and followed
 * by a `Name <address>` entry. Anything else without an @ stays an entry, reported as not valid.
 */
function lastNameFirst(segment: string, end: string, next: string | undefined): boolean {
  if (end !== ',' || next === undefined) return false;
  // A name's shape: a capital, then letters (an apostrophe or hyphen between), in quotes or not.
  if (!/^["'\u201c\u201e\u2018]?\p{Lu}[\p{L}\p{M}'\u2019-]*["'\u201d\u2019]?$/u.test(segment)) return false;
  const bracket = next.indexOf('<');
  return bracket > 0 && next.slice(0, bracket).trim() !== '' && !next.slice(0, bracket).includes('@');
}

function bareAddresses(text: string): string[] {
  return text
    .replace(/"[^"]*"/g, ' ')
    .split(/\s+/)
    .filter((word) => word.includes('@'))
    .map(stripWrapping);
}

/** Quotes and brackets around an entry go (in one pass each way: a regex here was quadratic on a long run of quotes). */
function stripWrapping(token: string): string {
  const text = token.trim();
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === '"' || text[start] === "'" || text[start] === '(')) start++;
  while (end > start && (text[end - 1] === '"' || text[end - 1] === "'" || text[end - 1] === ')')) end--;
  return text.slice(start, end);
}

export function parseEmailList(raw: string | readonly string[]): ParsedEmailList {
  const text = typeof raw === 'string' ? raw : raw.join('\n');
  const emails: string[] = [];
  const invalid: InvalidEntry[] = [];
  const seen = new Set<string>();
  const seenInvalid = new Set<string>();
  let duplicates = 0;
  for (const entry of splitEntries(text)) {
    const result = normalizeEmail(entry);
    if ('reason' in result) {
      if (!seenInvalid.has(entry)) invalid.push({ entry: entry.slice(0, 320), reason: result.reason });
      seenInvalid.add(entry);
    } else if (seen.has(result.email)) {
      duplicates++;
    } else {
      seen.add(result.email);
      emails.push(result.email);
    }
  }
  return { emails, invalid, duplicates };
}

/**
 * A search typed with a domain in its own letters (bücher.de, or bücher) as addresses are stored:
 * their domain in ASCII form (xn--bcher-kva.de), so it finds them; undefined when that changes nothing.
 */
export function asStored(search: string): string | undefined {
  if (/^[\x00-\x7f]*$/.test(search)) return undefined;
  const at = search.lastIndexOf('@');
  const domain = search.slice(at + 1);
  const ascii = domainToASCII(domain);
  if (!ascii || ascii === domain) return undefined;
  return search.slice(0, at + 1) + ascii;
}
