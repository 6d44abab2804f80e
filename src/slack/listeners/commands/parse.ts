import { TABLE_STATUSES, type TableState } from '../../action-values.js';
import { closestSubcommand, type Subcommand } from '../../blocks/help.js';
import { decodeSlackText } from '../../text.js';

export type ParsedCommand =
  | { sub: 'help' }
  | { sub: 'invite'; list: string }
  | { sub: 'invites'; status?: TableState['status']; search?: string }
  | { sub: 'members' }
  | { sub: 'unknown'; typed: string; closest?: Subcommand };

/**
 * The command's text (as Slack sends it, entities and markup included) as a subcommand. A list of
 * addresses or mentions without a subcommand means invite; nothing at all means help.
 */
export function parseCommand(raw: string): ParsedCommand {
  const text = raw.trim();
  if (!text) return { sub: 'help' };
  const [first = '', ...restWords] = text.split(/\s+/);
  const rest = text.slice(first.length).trim();
  // A list whose first display name starts with a subcommand's word, capitalised as a name is (`Help
  // Desk <help@x.io>`), is a list; `invites …` stays a search whatever follows (reading never writes).
  if (['help', 'members'].includes(first.toLowerCase()) && /^\p{Lu}/u.test(first) && namedAddressFirst(rest)) return { sub: 'invite', list: text };
  switch (first.toLowerCase()) {
    case 'help':
      return { sub: 'help' };
    case 'invite':
      return { sub: 'invite', list: rest };
    case 'members':
      return { sub: 'members' };
    case 'invites': {
      // `awaiting` is the short word for invitations waiting for approval.
      const word = restWords[0]?.toLowerCase() === 'awaiting' ? 'awaiting_approval' : restWords[0]?.toLowerCase();
      const status = TABLE_STATUSES.find((s) => s === word);
      const search = decodeSlackText(status ? rest.slice(restWords[0]!.length) : rest).text.trim();
      return { sub: 'invites', ...(status ? { status } : {}), ...(search ? { search } : {}) };
    }
  }
  // `revoke jane@x.io` is no list to invite (that would renew an expired invitation): the table has the buttons.
  if (CHANGE_WORDS.has(first.toLowerCase())) return { sub: 'unknown', typed: decodeSlackText(first).text, closest: 'invites' };
  if (looksLikeList(text)) return { sub: 'invite', list: text };
  const typed = decodeSlackText(first).text;
  return { sub: 'unknown', typed, closest: closestSubcommand(typed) };
}

/** Words asking for a change to an invitation or member the command does not make itself. */
const CHANGE_WORDS = new Set(['revoke', 'resend', 'renew', 'remove', 'delete', 'cancel', 'uninvite', 'deactivate', 'disable', 'approve', 'deny', 'link', 'copy']);

/** Whether the text starts with the rest of a display name and its address: `Desk <help@x.io>`. */
function namedAddressFirst(rest: string): boolean {
  // An address in the brackets: something before its @ (a mention `<@U…>` has nothing) and a dot after.
  const named = /^[^\s<>@]+(\s+[^\s<>@]+)*\s*<[^<>@|:\s]+@[^<>\s]*\.[^<>\s]*>/;
  // As Slack sends it (`&lt;<mailto:…>&gt;`), or as typed where no Slack formatted it.
  return named.test(decodeSlackText(rest).text) || named.test(rest);
}

/** An address, a mailto link or a mention somewhere in the text. */
function looksLikeList(text: string): boolean {
  return /@|<mailto:/i.test(text);
}
