import type { Db } from '../../src/db/index.js';
import { interactionBody } from '../../test/support/slack-sign.js';
import type { ChildServer } from '../lib/children.js';
import type { BenchOptions } from '../lib/options.js';
import { BENCH_ADMIN, signedHeaders, slashCommand } from '../lib/slack-load.js';
import { median, round, type SuiteResult } from '../lib/stats.js';

async function post(url: string, body: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: signedHeaders(body), body });
  await response.text();
  if (response.status !== 200) throw new Error(`bulk invite: ${url} answered ${response.status}`);
  return performance.now() - started;
}

function modalSubmission(emails: string, triggerId: string): string {
  return interactionBody({
    type: 'view_submission',
    team: { id: 'T0BENCH', domain: 'bench' },
    user: { id: BENCH_ADMIN, username: 'bench-admin', team_id: 'T0BENCH' },
    api_app_id: 'A0DOORMAN',
    token: 'deprecated-verification-token',
    trigger_id: triggerId,
    view: {
      id: 'V0MODAL',
      team_id: 'T0BENCH',
      type: 'modal',
      callback_id: 'invite_modal',
      private_metadata: '',
      hash: 'h1',
      blocks: [],
      state: {
        values: {
          emails: { emails_input: { type: 'plain_text_input', value: emails } },
          users: { users_input: { type: 'multi_users_select', selected_users: [] } },
          role: { role_input: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Member' }, value: 'member' } } },
        },
      },
    },
  });
}

/** Waits until Doorman stored the batch (the work after the ack), so runs do not overlap. */
async function stored(db: Db, prefix: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await db('invitations').where('email', 'like', `${prefix}%`).count<{ n: number | string }[]>({ n: '*' });
    if (Number(row?.n) >= count) return;
    if (Date.now() > deadline) throw new Error(`bulk invite: ${prefix}: only ${String(row?.n)} of ${count} stored after 2 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One submission of 1,000 addresses, as `/invite <list>` and through the invite modal: time to the ack. */
export async function bulkInviteSuite(options: BenchOptions, servers: { doorman: ChildServer; floor: ChildServer; slackApi: ChildServer }, db: Db): Promise<SuiteResult> {
  const size = options.quick ? 100 : 1_000;
  const runs = options.runs;
  const endpoint = `${servers.doorman.url}/slack/events`;
  const responseBase = String(servers.slackApi.info.respondBase);
  const list = (tag: string) => Array.from({ length: size }, (_, i) => `bulk${tag}x${i}@bench.example`).join(', ');
  const command: number[] = [];
  const modal: number[] = [];
  const floor: number[] = [];
  for (let run = 0; run < runs; run++) {
    const tag = `${Date.now().toString(36)}r${run}`;
    floor.push(await post(`${servers.floor.url}/slack/events`, slashCommand('/invites', '', `bulkfloor.${tag}`, `${responseBase}bulkfloor.${tag}`)));
    command.push(await post(endpoint, slashCommand('/invite', list(`c${tag}`), `bulkcmd.${tag}`, `${responseBase}bulkcmd.${tag}`)));
    await stored(db, `bulkc${tag}`, size);
    modal.push(await post(endpoint, modalSubmission(list(`m${tag}`).replace(/, /g, '\n'), `bulkmodal.${tag}`)));
    await stored(db, `bulkm${tag}`, size);
  }
  const worst = Math.max(...command, ...modal);
  return {
    suite: 'bulk invite',
    how: `One submission of ${size.toLocaleString('en')} new addresses through the real Bolt receiver, with the stored invitations present; time from the signed POST to Doorman's ack. Floor: the bare Bolt app's static ack.`,
    runs,
    rows: [
      { metric: '`/invite <list>` ack (ms)', floor: round(median(floor)), doorman: round(median(command)), ratio: round(median(command) / median(floor), 2), goal: '≤ 300 ms', pass: median(command) <= 300 },
      { metric: 'modal submission ack (ms)', floor: round(median(floor)), doorman: round(median(modal)), ratio: round(median(modal) / median(floor), 2), goal: '≤ 300 ms', pass: median(modal) <= 300 },
      { metric: 'slowest ack of all runs (ms)', doorman: round(worst), goal: 'far below 3,000 ms', pass: worst < 1_000 },
    ],
  };
}
