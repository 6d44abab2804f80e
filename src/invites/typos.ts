import emailSpellChecker from '@zootools/email-spell-checker';
import { edits } from '../shared/edits.js';

/**
 * The mail providers a suggestion may point to, and whose own addresses are never suggested away:
 * a likely typo is someone meaning one of these (`gmial.com`), never a company's own domain that
 * merely looks like one (`acme.com` is not a slip for `me.com`).
 */
const PROVIDERS = new Set([
  'gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.co.uk', 'yahoo.fr', 'yahoo.de', 'ymail.com', 'hotmail.com', 'hotmail.co.uk',
  'hotmail.fr', 'hotmail.de', 'outlook.com', 'live.com', 'msn.com', 'icloud.com', 'me.com', 'mac.com', 'aol.com', 'protonmail.com',
  'proton.me', 'gmx.com', 'gmx.de', 'gmx.net', 'web.de', 'mail.com', 'email.com', 'yandex.ru', 'yandex.com', 'mail.ru', 'qq.com',
  '163.com', '126.com', 'zoho.com', 'fastmail.com', 'comcast.net', 'verizon.net', 'att.net', 'sbcglobal.net', 'orange.fr',
  'free.fr', 'libero.it', 't-online.de', 'bigpond.com', 'naver.com', 'hanmail.net', 'seznam.cz', 'wp.pl', 'o2.pl',
]);

/** Domains of those providers a suggestion must never take for a slip (`protonmail.ch` is no `protonmail.com`). */
const KNOWN = new Set([...PROVIDERS, 'protonmail.ch', 'pm.me', 'foxmail.com', 'q.com', 'hotmail.it', 'hotmail.es', 'live.co.uk', 'yahoo.co.jp', 'yahoo.es', 'yahoo.it']);

/** A domain without its top-level label: `mail.corp.test` → `mail.corp`. */
function name(domain: string): string {
  return domain.slice(0, Math.max(0, domain.lastIndexOf('.')));
}

/** A domain's top-level label: `mail.corp.test` → `test`. */
function tld(domain: string): string {
  return domain.slice(domain.lastIndexOf('.') + 1);
}

/** Whether `typed` is a slip away from the provider `meant`: its ending one edit off, or its name (four letters or more) one edit off (two from ten). */
function slipFrom(typed: string, meant: string): boolean {
  const [a, b] = [name(typed), name(meant)];
  if (a === b) return edits(tld(typed), tld(meant)) <= 1;
  return tld(typed) === tld(meant) && Math.min(a.length, b.length) >= 4 && edits(a, b) <= (Math.min(a.length, b.length) >= 10 ? 2 : 1);
}

/**
 * The address a likely typo in the domain was meant to be (`jane@gmial.com` → `jane@gmail.com`,
 * `jane@hotmail.con` → `jane@hotmail.com`); undefined when there is none. Only a well-known provider
 * is suggested, and only for a domain a slip away from it.
 */
export function suggestAddress(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  const typed = email.slice(at + 1);
  if (KNOWN.has(typed)) return undefined;
  const suggested = emailSpellChecker.run({ email })?.domain;
  // The checker's pick, when it is a provider; else the provider of the same name whose ending is one slip off.
  const meant = suggested && PROVIDERS.has(suggested) ? suggested : [...PROVIDERS].find((p) => name(p) === name(typed));
  return meant && meant !== typed && slipFrom(typed, meant) ? `${email.slice(0, at)}@${meant}` : undefined;
}
