/**
 * Slack's text, in and out. Slack sends command text with `&`, `<` and `>` escaped as entities,
 * and wraps what clients recognise in angle brackets: `<mailto:a@x.io|a@x.io>`, `<@U123|name>`,
 * `<#C123|name>`, `<https://…|label>`. Out, Doorman escapes the same three characters.
 */

/** A user mention in Slack's markup: `<@U123>` or `<@U123|name>`. */
const MENTION = /<@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>/g;

export interface DecodedText {
  /** The text as the person typed it (markup resolved, entities decoded), mentions taken out. */
  text: string;
  /** Slack user ids mentioned, in order, without repeats. */
  mentions: string[];
}

/** Reads text as Slack sends it: links and mailto markup become their text, entities are decoded. */
export function decodeSlackText(raw: string): DecodedText {
  const mentions: string[] = [];
  const text = raw
    // NUL is in no address or name, and PostgreSQL refuses it in text.
    .replace(/\u0000/g, '')
    .replace(MENTION, (_m, id: string) => {
      if (!mentions.includes(id)) mentions.push(id);
      return ' ';
    })
    // <mailto:a@x.io|a@x.io> and <mailto:a@x.io>: the address.
    .replace(/<mailto:([^<>|]*)(?:\|[^<>]*)?>/gi, (_m, address: string) => address)
    // <#C123|general>, <!here>, <https://x.io|label>: the label, or what is inside.
    .replace(/<([^<>|]*)\|([^<>]*)>/g, (_m, _target: string, label: string) => label)
    .replace(/<([^<>]*)>/g, (_m, inside: string) => inside)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return { text, mentions };
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Text someone else chose (an invitee's name), shown in mrkdwn as plain words: escaped, and with
 * a zero-width joiner breaking what Slack would read as formatting (`*bold*`, `_italic_`, `~strike~`,
 * `` `code` ``, `>` quotes) or as a link (`://`, `www.`, a bare domain), so it renders as typed.
 */
export function neutralize(text: string): string {
  const ZWJ = '\u2060';
  return escape(text)
    .replace(/[*_~`]/g, (c) => `${c}${ZWJ}`)
    .replace(/:\/\//g, `:${ZWJ}//`)
    .replace(/\./g, `.${ZWJ}`)
    .replace(/@/g, `@${ZWJ}`);
}

/** Fallback text (notifications, screen readers) from mrkdwn: formatting marks go, addresses stay whole. */
export function plainFallback(mrkdwn: string): string {
  return mrkdwn
    .replace(/(^|[\s(])[*~]+(?=\S)|(?<=\S)[*~]+(?=$|[\s).,:;!?])/g, '$1')
    .replace(/(^|[\s(])_+(?=\S)|(?<=\S)_+(?=$|[\s).,:;!?])/g, '$1')
    .replace(/`/g, '');
}
