import { interactionBody } from '../../test/support/slack-sign.js';
import type { ChildServer } from '../lib/children.js';
import type { BenchOptions } from '../lib/options.js';
import { BENCH_ADMIN, BENCH_TEAM, signedHeaders, slashCommand } from '../lib/slack-load.js';
import { median, percentile, round, type SuiteResult } from '../lib/stats.js';

/** One list, as an admin pastes it: 150 addresses (a slash command's text, the modal's 3,000-character field). */
const LIST_SIZE = 150;
/** The ack goal: a tenth of the 3 s Slack waits for it. */
const GOAL_MS = 300;

/** A signed POST to a Slack endpoint: its latency to the whole answer, and the answer. */
async function post(url: string, body: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: signedHeaders(body), body });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`bulk invite: ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return { ms, text };
}

/** The invite form submitted with a list (answered with its review), or the review's Send. */
function modalSubmission(emails: string, triggerId: string, review?: string): string {
  return interactionBody({
    type: 'view_submission',
    team: { id: BENCH_TEAM, domain: 'bench' },
    user: { id: BENCH_ADMIN, username: 'bench-admin', team_id: BENCH_TEAM },
    api_app_id: 'A0DOORMAN',
    token: 'deprecated-verification-token',
    trigger_id: triggerId,
    view: {
      id: 'V0MODAL',
      team_id: BENCH_TEAM,
      type: 'modal',
      callback_id: review ? 'invite_review' : 'invite_modal',
      private_metadata: review ?? '',
      hash: 'h1',
      blocks: [],
      state: {
        values: review
          ? {}
          : {
              emails: { emails_input: { type: 'plain_text_input', value: emails } },
              users: { users_input: { type: 'multi_users_select', selected_users: [] } },
              role: { role_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Member' }, value: 'member' } } },
              expiry: { expiry_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: '7 days' }, value: '7' } } },
              message: { message_input: { type: 'plain_text_input', value: null } },
              file: { file_input: { type: 'file_input', files: [] } },
            },
      },
    },
  });
}

/** The answer must be the stored summary: every address of the list sent. */
function expectSummary(what: string, text: string): void {
  if (!text.includes(`Sent ${LIST_SIZE} invitations`)) throw new Error(`bulk invite: ${what} was not acked with "Sent ${LIST_SIZE} invitations": ${text.slice(0, 300)}`);
}

/**
 * `/doorman invite <150 addresses>`, each request with addresses never seen before, one after the
 * other, against the bare Bolt app's static ack of the same command; and now and then the invite
 * modal submitted with another 150. The invitations and their emails are stored before the ack
 * (the ack carries the summary), so the time to the ack is the whole work. Meanwhile Doorman's
 * outbox delivers the emails of the lists before, as it would.
 */
export async function bulkInviteSuite(options: BenchOptions, servers: { doorman: ChildServer; floor: ChildServer; slackApi: ChildServer }): Promise<SuiteResult> {
  const requests = options.quick ? 10 : 200;
  const modalEvery = 10;
  const endpoint = `${servers.doorman.url}/slack/events`;
  const floorEndpoint = `${servers.floor.url}/slack/events`;
  const responseBase = String(servers.slackApi.info.respondBase);
  const salt = Date.now().toString(36);
  // Short addresses, so that 150 fit the modal's 3,000 characters as they would.
  const list = (tag: string, separator: string) => Array.from({ length: LIST_SIZE }, (_, i) => `${tag}x${i}@b.io`).join(separator);
  const floor: number[] = [];
  const command: number[] = [];
  const modal: number[] = [];
  const review: number[] = [];
  // Warm-up (not measured): JIT, connection pools, the admin's name read once from Slack.
  for (let i = 0; i < 3; i++) {
    const tag = `w${salt}${i}`;
    await post(floorEndpoint, slashCommand('invites', `bulkfloor.${tag}`, `${responseBase}bulkfloor.${tag}`));
    expectSummary('a warm-up list', (await post(endpoint, slashCommand(`invite ${list(`c${tag}`, ', ')}`, `bulkcmd.${tag}`, `${responseBase}bulkcmd.${tag}`))).text);
  }
  for (let i = 0; i < requests; i++) {
    const tag = `${salt}${i.toString(36)}`;
    floor.push((await post(floorEndpoint, slashCommand(`invite ${list(`f${tag}`, ', ')}`, `bulkfloor.${tag}`, `${responseBase}bulkfloor.${tag}`))).ms);
    const sent = await post(endpoint, slashCommand(`invite ${list(`c${tag}`, ', ')}`, `bulkcmd.${tag}`, `${responseBase}bulkcmd.${tag}`));
    expectSummary('`/doorman invite <list>`', sent.text);
    command.push(sent.ms);
    if (i % modalEvery === 0) {
      // The form answers with the review (its draft id); Send stores the list and answers with the summary.
      const reviewed = await post(endpoint, modalSubmission(list(`m${tag}`, '\n'), `bulkmodal.${tag}`));
      const draft = (JSON.parse(reviewed.text) as { view?: { private_metadata?: string } }).view?.private_metadata;
      if (!draft) throw new Error(`bulk invite: the form was not answered with a review: ${reviewed.text.slice(0, 300)}`);
      review.push(reviewed.ms);
      const submitted = await post(endpoint, modalSubmission('', `bulksend.${tag}`, draft));
      expectSummary('the review\'s Send', submitted.text);
      modal.push(submitted.ms);
    }
  }
  const p99 = percentile(command, 99);
  const floorP99 = percentile(floor, 99);
  const modalMax = Math.max(...modal);
  return {
    suite: 'bulk invite',
    how: `${requests} × \`/doorman invite <${LIST_SIZE} new addresses>\` one after the other through the real Bolt receiver, with the stored invitations present (and the emails of the lists before being delivered); time from the signed POST to the ack, which carries the stored summary (checked: "Sent ${LIST_SIZE} invitations"). Every ${modalEvery}th round the invite form is submitted with another ${LIST_SIZE} (answered with its review) and the review is sent (answered with the stored summary). Floor: the bare Bolt app acking the same command with static text.`,
    runs: requests,
    over: `percentiles of ${requests} requests`,
    rows: [
      { metric: `\`/doorman invite <${LIST_SIZE}>\` ack p99 (ms)`, floor: round(floorP99, 2), doorman: round(p99), ratio: round(p99 / floorP99, 2), goal: `≤ ${GOAL_MS} ms`, pass: p99 <= GOAL_MS },
      { metric: `\`/doorman invite <${LIST_SIZE}>\` ack p50 (ms)`, floor: round(median(floor), 2), doorman: round(median(command)), ratio: round(median(command) / median(floor), 2) },
      { metric: `the form's review of ${LIST_SIZE}, ack p50 / max (ms; ${review.length} submissions)`, doorman: `${round(median(review))} / ${round(Math.max(...review))}`, goal: `max ≤ ${GOAL_MS} ms`, pass: Math.max(...review) <= GOAL_MS },
      { metric: `the review's Send of ${LIST_SIZE}, ack p50 / max (ms; ${modal.length} submissions)`, doorman: `${round(median(modal))} / ${round(modalMax)}`, goal: `max ≤ ${GOAL_MS} ms`, pass: modalMax <= GOAL_MS },
      { metric: 'slowest ack of all (ms)', doorman: round(Math.max(...command, ...review, modalMax)), goal: 'far below 3,000 ms', pass: Math.max(...command, ...review, modalMax) < 1_000 },
    ],
  };
}
