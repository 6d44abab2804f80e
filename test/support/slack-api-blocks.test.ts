import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_TEXT, SlackApiStandIn, messageProblems, truncatedText, viewProblems } from './slack-api.js';

/**
 * Self-tests of the stand-in's Block Kit checks, one rule at a time: each gets a case Slack refuses
 * and, near a boundary, the largest case it accepts. Each rule's source is named beside its check
 * in slack-api.ts (Slack's Block Kit reference, @slack/types, Slack's changelog).
 */

const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const option = (n: number, text: object = plain(`Option ${n}`)) => ({ text, value: `v${n}` });
const options = (count: number) => Array.from({ length: count }, (_, i) => option(i));

/** The problems of one actions block holding `elements`. */
const actions = (...elements: object[]) => messageProblems({ blocks: [{ type: 'actions', elements }] });
/** The problems of a modal with one input block holding `element`. */
const input = (element: object) => viewProblems({ type: 'modal', title: plain('T'), submit: plain('OK'), blocks: [{ type: 'input', label: plain('L'), element }] });
/** The problems of one section block with `accessory`. */
const accessory = (element: object) => messageProblems({ blocks: [{ type: 'section', text: mrkdwn('x'), accessory: element }] });

describe('Block Kit: option counts per element', () => {
  it('checkboxes hold at most 10 options', () => {
    expect(input({ type: 'checkboxes', action_id: 'c', options: options(10) })).toEqual([]);
    expect(input({ type: 'checkboxes', action_id: 'c', options: options(11) }).join()).toMatch(/11 options in a checkboxes/);
  });

  it('radio buttons hold at most 10 options', () => {
    expect(input({ type: 'radio_buttons', action_id: 'r', options: options(10) })).toEqual([]);
    expect(input({ type: 'radio_buttons', action_id: 'r', options: options(11) }).join()).toMatch(/11 options in a radio_buttons/);
  });

  it('an overflow menu holds 2 to 5 options', () => {
    expect(actions({ type: 'overflow', action_id: 'o', options: options(2) })).toEqual([]);
    expect(actions({ type: 'overflow', action_id: 'o', options: options(5) })).toEqual([]);
    expect(actions({ type: 'overflow', action_id: 'o', options: options(1) }).join()).toMatch(/1 options in a overflow/);
    expect(actions({ type: 'overflow', action_id: 'o', options: options(6) }).join()).toMatch(/6 options in a overflow/);
  });

  it('elements with a fixed list must have one', () => {
    expect(input({ type: 'checkboxes', action_id: 'c' }).join()).toMatch(/checkboxes without options/);
    expect(actions({ type: 'overflow', action_id: 'o' }).join()).toMatch(/overflow without options/);
  });

  it('a static menu holds up to 100 options, or up to 100 option groups of up to 100', () => {
    expect(actions({ type: 'static_select', action_id: 's', options: options(100) })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', options: options(101) }).join()).toMatch(/101 options/);
    const group = (n: number, count: number) => ({ label: plain(`Group ${n}`), options: options(count).map((o) => ({ ...o, value: `${n}-${o.value}` })) });
    expect(actions({ type: 'static_select', action_id: 's', option_groups: Array.from({ length: 100 }, (_, n) => group(n, 1)) })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', option_groups: Array.from({ length: 101 }, (_, n) => group(n, 1)) }).join()).toMatch(/101 option groups/);
    expect(actions({ type: 'static_select', action_id: 's', option_groups: [group(0, 100)] })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', option_groups: [group(0, 101)] }).join()).toMatch(/101 options in a group/);
    expect(input({ type: 'multi_static_select', action_id: 'm', options: options(101) }).join()).toMatch(/101 options/);
  });

  it('a static menu takes options or option groups, not both and not neither', () => {
    const groups = [{ label: plain('G'), options: options(1) }];
    expect(actions({ type: 'static_select', action_id: 's', options: options(1), option_groups: groups }).join()).toMatch(/either options or option_groups/);
    expect(actions({ type: 'static_select', action_id: 's' }).join()).toMatch(/either options or option_groups/);
    expect(input({ type: 'checkboxes', action_id: 'c', option_groups: groups }).join()).toMatch(/option_groups in a checkboxes/);
  });

  it('an option group label is plain_text of at most 75 characters', () => {
    const menu = (label: object) => actions({ type: 'static_select', action_id: 's', option_groups: [{ label, options: options(1) }] });
    expect(menu(plain('g'.repeat(75)))).toEqual([]);
    expect(menu(plain('g'.repeat(76))).join()).toMatch(/option group label: 76 characters/);
    expect(menu(mrkdwn('g')).join()).toMatch(/option group label: text type mrkdwn/);
  });

  it('initial options must be among the options, in menus, checkboxes and radio buttons alike', () => {
    expect(actions({ type: 'static_select', action_id: 's', options: options(3), initial_option: option(1) })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', options: options(3), initial_option: option(7) }).join()).toMatch(/initial option "v7" is not one of the options/);
    // Same value, other text: not an exact match.
    expect(actions({ type: 'static_select', action_id: 's', options: options(3), initial_option: { ...option(1), text: plain('Other') } }).join()).toMatch(/not one of the options/);
    const groups = [{ label: plain('G'), options: options(2) }];
    expect(actions({ type: 'static_select', action_id: 's', option_groups: groups, initial_option: option(1) })).toEqual([]);
    expect(input({ type: 'checkboxes', action_id: 'c', options: options(3), initial_options: [option(0), option(2)] })).toEqual([]);
    expect(input({ type: 'checkboxes', action_id: 'c', options: options(3), initial_options: [option(5)] }).join()).toMatch(/initial option "v5"/);
    expect(input({ type: 'radio_buttons', action_id: 'r', options: options(3), initial_option: option(9) }).join()).toMatch(/initial option "v9"/);
  });
});

describe('Block Kit: option objects', () => {
  it('checkboxes and radio buttons take mrkdwn option text; menus and overflow take plain_text only', () => {
    expect(input({ type: 'checkboxes', action_id: 'c', options: [option(0, mrkdwn('*Resend*'))] })).toEqual([]);
    expect(input({ type: 'radio_buttons', action_id: 'r', options: [option(0, mrkdwn('*One*'))] })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', options: [option(0, mrkdwn('*One*'))] }).join()).toMatch(/option: text type mrkdwn/);
    expect(actions({ type: 'overflow', action_id: 'o', options: [option(0, mrkdwn('*One*')), option(1)] }).join()).toMatch(/option: text type mrkdwn/);
  });

  it('option text is at most 75 characters, the value at most 150 and required', () => {
    expect(input({ type: 'checkboxes', action_id: 'c', options: [option(0, mrkdwn('x'.repeat(75)))] })).toEqual([]);
    expect(input({ type: 'checkboxes', action_id: 'c', options: [option(0, mrkdwn('x'.repeat(76)))] }).join()).toMatch(/option: 76 characters/);
    expect(actions({ type: 'static_select', action_id: 's', options: [{ text: plain('A'), value: 'v'.repeat(150) }] })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', options: [{ text: plain('A'), value: 'v'.repeat(151) }] }).join()).toMatch(/option value longer than 150/);
    expect(actions({ type: 'static_select', action_id: 's', options: [{ text: plain('A') }] }).join()).toMatch(/option without a value/);
  });

  it('an option description is at most 75 characters, mrkdwn only in checkboxes and radio buttons', () => {
    const described = (description: object) => ({ ...option(0), description });
    expect(input({ type: 'checkboxes', action_id: 'c', options: [described(mrkdwn('d'.repeat(75)))] })).toEqual([]);
    expect(input({ type: 'checkboxes', action_id: 'c', options: [described(mrkdwn('d'.repeat(76)))] }).join()).toMatch(/option description: 76 characters/);
    expect(actions({ type: 'static_select', action_id: 's', options: [described(plain('d'.repeat(75)))] })).toEqual([]);
    expect(actions({ type: 'static_select', action_id: 's', options: [described(mrkdwn('d'))] }).join()).toMatch(/option description: text type mrkdwn/);
  });

  it('an option url is for overflow menus only, at most 3000 characters', () => {
    const linked = (url: string) => ({ ...option(0), url });
    expect(actions({ type: 'overflow', action_id: 'o', options: [linked(`https://x.test/${'a'.repeat(2985)}`), option(1)] })).toEqual([]);
    expect(actions({ type: 'overflow', action_id: 'o', options: [linked(`https://x.test/${'a'.repeat(2986)}`), option(1)] }).join()).toMatch(/option url longer than 3000/);
    expect(actions({ type: 'static_select', action_id: 's', options: [linked('https://x.test/')] }).join()).toMatch(/option url outside an overflow menu/);
  });
});

describe('Block Kit: input elements', () => {
  it('a plain-text input takes max_length 1–3000 and min_length 0–3000', () => {
    expect(input({ type: 'plain_text_input', action_id: 'p', min_length: 0, max_length: 3000 })).toEqual([]);
    expect(input({ type: 'plain_text_input', action_id: 'p', min_length: 3000, max_length: 1 })).toEqual([]);
    expect(input({ type: 'plain_text_input', action_id: 'p', max_length: 3001 }).join()).toMatch(/max_length 3001/);
    expect(input({ type: 'plain_text_input', action_id: 'p', max_length: 0 }).join()).toMatch(/max_length 0/);
    expect(input({ type: 'plain_text_input', action_id: 'p', min_length: 3001 }).join()).toMatch(/min_length 3001/);
    expect(input({ type: 'plain_text_input', action_id: 'p', min_length: -1 }).join()).toMatch(/min_length -1/);
    expect(input({ type: 'plain_text_input', action_id: 'p', max_length: 10.5 }).join()).toMatch(/max_length 10.5/);
  });

  it('a multi-select menu takes max_selected_items of at least 1', () => {
    expect(input({ type: 'multi_users_select', action_id: 'u', max_selected_items: 1 })).toEqual([]);
    expect(input({ type: 'multi_users_select', action_id: 'u', max_selected_items: 0 }).join()).toMatch(/max_selected_items 0/);
    expect(input({ type: 'multi_static_select', action_id: 'm', options: options(2), max_selected_items: 0 }).join()).toMatch(/max_selected_items 0/);
  });

  it('a file input takes max_files 1–10', () => {
    expect(input({ type: 'file_input', action_id: 'f', max_files: 1 })).toEqual([]);
    expect(input({ type: 'file_input', action_id: 'f', max_files: 10 })).toEqual([]);
    expect(input({ type: 'file_input', action_id: 'f', max_files: 0 }).join()).toMatch(/max_files 0/);
    expect(input({ type: 'file_input', action_id: 'f', max_files: 11 }).join()).toMatch(/max_files 11/);
  });
});

describe('Block Kit: which elements each block holds', () => {
  it('an actions block holds interactive elements, not inputs or images', () => {
    expect(actions({ type: 'button', action_id: 'b', text: plain('Go') }, { type: 'checkboxes', action_id: 'c', options: options(1) }, { type: 'multi_users_select', action_id: 'u' })).toEqual([]);
    expect(actions({ type: 'plain_text_input', action_id: 'p' }).join()).toMatch(/element plain_text_input is not allowed in actions blocks/);
    expect(actions({ type: 'file_input', action_id: 'f' }).join()).toMatch(/element file_input is not allowed in actions blocks/);
    expect(actions({ type: 'image', image_url: 'https://x.test/a.png', alt_text: 'a' }).join()).toMatch(/element image is not allowed in actions blocks/);
    expect(actions({ type: 'no_such_element' }).join()).toMatch(/unknown element type no_such_element/);
    expect(actions({ type: 'constructor' }).join()).toMatch(/unknown element type constructor/);
  });

  it('a section accessory is a button, menu, checkboxes, radio buttons, picker, overflow or image, not an input', () => {
    expect(accessory({ type: 'button', action_id: 'b', text: plain('Go') })).toEqual([]);
    expect(accessory({ type: 'image', image_url: 'https://x.test/a.png', alt_text: 'a' })).toEqual([]);
    expect(accessory({ type: 'overflow', action_id: 'o', options: options(2) })).toEqual([]);
    expect(accessory({ type: 'plain_text_input', action_id: 'p' }).join()).toMatch(/is not allowed in section blocks/);
    expect(accessory({ type: 'datetimepicker', action_id: 'd' }).join()).toMatch(/is not allowed in section blocks/);
  });

  it('an input block holds an input, menu, checkboxes or radio buttons, not a button or overflow', () => {
    for (const element of [{ type: 'plain_text_input' }, { type: 'file_input' }, { type: 'multi_users_select' }, { type: 'static_select', options: options(1) }, { type: 'checkboxes', options: options(1) }]) {
      expect(input({ ...element, action_id: 'x' })).toEqual([]);
    }
    expect(input({ type: 'button', action_id: 'b', text: plain('Go') }).join()).toMatch(/element button is not allowed in input blocks/);
    expect(input({ type: 'overflow', action_id: 'o', options: options(2) }).join()).toMatch(/element overflow is not allowed in input blocks/);
  });

  it('the email, URL, number and file inputs appear in modals only, the datetime picker not in Home tabs, the rich text input not in messages', () => {
    const inputBlock = (type: string) => ({ type: 'input', label: plain('L'), element: { type, action_id: 'x' } });
    const home = (type: string) => viewProblems({ type: 'home', blocks: [inputBlock(type)] });
    const message = (type: string) => messageProblems({ blocks: [inputBlock(type)] });
    for (const type of ['email_text_input', 'url_text_input', 'number_input', 'file_input']) {
      expect(input({ type, action_id: 'x' })).toEqual([]);
      expect(message(type).join()).toMatch(new RegExp(`element ${type} is not allowed in a message`));
      expect(home(type).join()).toMatch(new RegExp(`element ${type} is not allowed in a home`));
    }
    expect(message('datetimepicker')).toEqual([]);
    expect(home('datetimepicker').join()).toMatch(/element datetimepicker is not allowed in a home/);
    expect(home('rich_text_input')).toEqual([]);
    expect(message('rich_text_input').join()).toMatch(/element rich_text_input is not allowed in a message/);
    // The rest may appear anywhere: a plain-text input and a menu in a message's input block.
    expect(message('plain_text_input')).toEqual([]);
    expect(message('multi_users_select')).toEqual([]);
  });

  it('a block type the stand-in has no checks for is refused, saying so', () => {
    expect(messageProblems({ blocks: [{ type: 'rich_text', elements: [] }] }).join()).toMatch(/block type not used by Doorman \(add its checks/);
  });

  it('a context block holds text objects and images only, up to 10', () => {
    const image = { type: 'image', image_url: 'https://x.test/a.png', alt_text: 'a' };
    expect(messageProblems({ blocks: [{ type: 'context', elements: [image, mrkdwn('a'), plain('b'), ...Array.from({ length: 7 }, () => mrkdwn('c'))] }] })).toEqual([]);
    expect(messageProblems({ blocks: [{ type: 'context', elements: Array.from({ length: 11 }, () => mrkdwn('c')) }] }).join()).toMatch(/1–10 elements/);
    expect(messageProblems({ blocks: [{ type: 'context', elements: [{ type: 'button', action_id: 'b', text: plain('Go') }] }] }).join()).toMatch(/element button is not allowed in context blocks/);
  });

  it('an image element needs alt_text up to 2000 and an image_url up to 3000 or a slack_file', () => {
    const context = (image: object) => messageProblems({ blocks: [{ type: 'context', elements: [{ type: 'image', ...image }] }] });
    expect(context({ image_url: `https://x.test/${'a'.repeat(2985)}`, alt_text: 'a'.repeat(2000) })).toEqual([]);
    expect(context({ slack_file: { id: 'F0123' }, alt_text: 'a' })).toEqual([]);
    expect(context({ image_url: `https://x.test/${'a'.repeat(2986)}`, alt_text: 'a' }).join()).toMatch(/image_url longer than 3000/);
    expect(context({ image_url: 'https://x.test/a.png', alt_text: 'a'.repeat(2001) }).join()).toMatch(/alt_text longer than 2000/);
    expect(context({ image_url: 'https://x.test/a.png' }).join()).toMatch(/image without alt_text/);
    expect(context({ alt_text: 'a' }).join()).toMatch(/image without image_url or slack_file/);
  });

  it('an action_id is unique within its block, and may repeat in another block', () => {
    const button = (action_id: string) => ({ type: 'button', action_id, text: plain('Go') });
    expect(messageProblems({ blocks: [{ type: 'actions', elements: [button('same')] }, { type: 'actions', elements: [button('same')] }] })).toEqual([]);
    expect(actions(button('same'), button('same')).join()).toMatch(/action_id "same" is not unique in its block/);
  });

  it('a button url is at most 3000 characters', () => {
    expect(actions({ type: 'button', action_id: 'b', text: plain('Go'), url: `https://x.test/${'a'.repeat(2985)}` })).toEqual([]);
    expect(actions({ type: 'button', action_id: 'b', text: plain('Go'), url: `https://x.test/${'a'.repeat(2986)}` }).join()).toMatch(/button url longer than 3000/);
  });
});

/** A stand-in granted chat:write that knows one user, and a Web API client for it, for one describe block. */
function useStandIn(): { api: () => SlackApiStandIn; web: () => WebClient } {
  let api: SlackApiStandIn;
  let web: WebClient;
  beforeAll(async () => {
    api = await SlackApiStandIn.start('xoxb-test', { scopes: ['chat:write'] });
    api.users.set('U0ADMIN', { email: 'boss@corp.test', name: 'Boss' });
    web = new WebClient('xoxb-test', { slackApiUrl: `${api.url}/`, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  });
  afterAll(async () => {
    await api?.stop();
  });
  return { api: () => api, web: () => web };
}

describe('Message text over 40,000 characters', () => {
  const { web } = useStandIn();

  it('is not a block problem', () => {
    expect(messageProblems({ text: 'x'.repeat(40_001) })).toEqual([]);
    expect(truncatedText('x'.repeat(MAX_MESSAGE_TEXT))).toEqual({ text: 'x'.repeat(MAX_MESSAGE_TEXT) });
  });

  it('is posted cut to 40,000 characters, with the message_truncated warning', async () => {
    const long = `${'a'.repeat(39_999)}🙂🙂tail`;
    const posted = await web().chat.postMessage({ channel: 'U0ADMIN', text: long });
    expect(posted.ok).toBe(true);
    expect(posted.message?.text).toBe(`${'a'.repeat(39_999)}🙂`);
    expect(posted.response_metadata?.warnings).toEqual(['message_truncated']);
    const updated = await web().chat.update({ channel: posted.channel!, ts: posted.ts!, text: long });
    expect([...String(updated.text)].length).toBe(40_000);
    expect(updated.response_metadata?.warnings).toEqual(['message_truncated']);
    const exact = await web().chat.postMessage({ channel: 'U0ADMIN', text: 'b'.repeat(40_000) });
    expect(exact.message?.text).toHaveLength(40_000);
    expect(exact.response_metadata?.warnings).toBeUndefined();
  });
});

describe('chat.postMessage to a channel by name', () => {
  let api: SlackApiStandIn;
  let web: WebClient;

  beforeAll(async () => {
    api = await SlackApiStandIn.start('xoxb-test', { scopes: ['chat:write'] });
    api.joinChannel('C0INVITES', { name: 'invitations' });
    api.addChannel('C0ELSEWHERE', { name: 'elsewhere' });
    web = new WebClient('xoxb-test', { slackApiUrl: `${api.url}/`, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('posts to the named channel, answered with its id, under the same rules as its id', async () => {
    for (const name of ['#invitations', 'invitations']) expect(await web.chat.postMessage({ channel: name, text: 'hi' })).toMatchObject({ ok: true, channel: 'C0INVITES' });
    await expect(web.chat.postMessage({ channel: '#elsewhere', text: 'hi' })).rejects.toMatchObject({ data: { error: 'not_in_channel' } });
    await expect(web.chat.postMessage({ channel: '#nowhere', text: 'hi' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
  });
});

describe('Block Kit: confirmation dialogs', () => {
  // docs.slack.dev, "Confirmation dialog object": title, text, confirm and deny are plain_text objects.
  const confirm = (text: object) => ({ title: plain('Sure?'), text, confirm: plain('Yes'), deny: plain('No') });
  it('take plain_text everywhere, the explanatory text too', () => {
    expect(actions({ type: 'button', action_id: 'b', text: plain('Go'), confirm: confirm(plain('It happens at once.')) })).toEqual([]);
    expect(actions({ type: 'button', action_id: 'b', text: plain('Go'), confirm: confirm(mrkdwn('It happens *at once*.')) }).join()).toMatch(/confirm text/);
  });
});

describe('what Slack refuses beyond Block Kit', () => {
  const { api, web } = useStandIn();

  it('a message with nothing to show is no_text (chat.postMessage, chat.update), not a missing argument', async () => {
    await expect(web().chat.postMessage({ channel: 'U0ADMIN' } as never)).rejects.toMatchObject({ data: { error: 'no_text' } });
    await expect(web().chat.postMessage({ channel: 'U0ADMIN', blocks: [] } as never)).rejects.toMatchObject({ data: { error: 'no_text' } });
    const posted = await web().chat.postMessage({ channel: 'U0ADMIN', text: 'hi' });
    await expect(web().chat.update({ channel: posted.channel!, ts: posted.ts! } as never)).rejects.toMatchObject({ data: { error: 'no_text' } });
  });

  it('chat.update keeps the blocks it is not given, and answers the message as it is now', async () => {
    const button = { type: 'actions', elements: [{ type: 'button', action_id: 'approve', text: plain('Approve'), value: 'x' }] };
    const posted = await web().chat.postMessage({ channel: 'U0ADMIN', text: 'Request', blocks: [button] });
    const updated = await web().chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'Approved' });
    expect(updated.message).toMatchObject({ text: 'Approved', blocks: [button] });
    expect(api().message(posted.channel!, posted.ts!)?.blocks).toEqual([button]);
    await web().chat.update({ channel: posted.channel!, ts: posted.ts!, text: 'Approved', blocks: [] });
    expect(api().message(posted.channel!, posted.ts!)?.blocks).toEqual([]);
  });

  it('a modal: title, submit and close are plain_text; views.open opens modals only; a view over 250 kB is view_too_large', async () => {
    const modal = { type: 'modal', title: plain('Invite'), submit: plain('Send'), close: plain('Cancel'), blocks: [{ type: 'section', text: mrkdwn('x') }] };
    expect(viewProblems(modal)).toEqual([]);
    for (const part of ['title', 'submit', 'close']) expect(viewProblems({ ...modal, [part]: mrkdwn('*X*') }).join()).toMatch(new RegExp(`${part} of type mrkdwn`));
    await expect(web().views.open({ trigger_id: api().issueTrigger(), view: { ...modal, type: 'home' } as never })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    const big = { ...modal, blocks: Array.from({ length: 100 }, () => ({ type: 'section', text: mrkdwn('y'.repeat(2_990)) })) };
    await expect(web().views.open({ trigger_id: api().issueTrigger(), view: big as never })).rejects.toMatchObject({ data: { error: 'view_too_large' } });
    expect((await web().views.open({ trigger_id: api().issueTrigger(), view: modal as never })).ok).toBe(true);
  });
});

describe('an app whose manifest turns the Messages tab off', () => {
  it('gets messages_tab_disabled for every DM, and may still post in a channel', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'manifest-'));
    const manifest = path.join(dir, 'manifest.yml');
    writeFileSync(manifest, readFileSync(path.join(import.meta.dirname, '../../manifest.yml'), 'utf8').replace('messages_tab_enabled: true', 'messages_tab_enabled: false'));
    const api = await SlackApiStandIn.start('xoxb-test', { manifestPath: manifest, scopes: ['chat:write'] });
    try {
      api.users.set('U0ADMIN', { email: 'boss@corp.test', name: 'Boss' });
      api.joinChannel('C0OPEN');
      const web = new WebClient('xoxb-test', { slackApiUrl: `${api.url}/`, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
      await expect(web.chat.postMessage({ channel: 'U0ADMIN', text: 'hi' })).rejects.toMatchObject({ data: { error: 'messages_tab_disabled' } });
      expect((await web.chat.postMessage({ channel: 'C0OPEN', text: 'hi' })).ok).toBe(true);
    } finally {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
