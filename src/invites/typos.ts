import emailSpellChecker from '@zootools/email-spell-checker';

/** A domain without its top-level label: `mail.corp.test` → `mail.corp`. */
function name(domain: string): string {
  return domain.slice(0, Math.max(0, domain.lastIndexOf('.')));
}

/**
 * The address a likely typo in the domain was meant to be (`jane@gmial.com` → `jane@gmail.com`),
 * from the mail providers the spell checker knows; undefined when there is none. A suggestion that
 * only changes the top-level domain (`corp.test` → `corp.de`) is no suggestion: an organization's
 * own domain with an uncommon ending is not a typo.
 */
export function suggestAddress(email: string): string | undefined {
  const suggestion = emailSpellChecker.run({ email });
  if (!suggestion || suggestion.full === email) return undefined;
  const typed = email.slice(email.lastIndexOf('@') + 1);
  return name(suggestion.domain) !== name(typed) ? suggestion.full : undefined;
}
