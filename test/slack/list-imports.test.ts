import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListFile } from '../../src/invites/list-file.js';
import type { ListImportState } from '../../src/invites/import-state.js';
import type { FileImportInput } from '../../src/invites/list-import.js';
import type { InvitesService } from '../../src/invites/service.js';
import { Background } from '../../src/slack/background.js';
import { IMPORT_PROGRESS_EVERY_MS, SlackListImports } from '../../src/slack/list-imports.js';
import { ManualClock } from '../support/db.js';
import { SlackApiStandIn } from '../support/slack-api.js';
import { captureLogger, pause, textOf } from '../support/slack-world.js';

/**
 * The import's DM when storing takes longer than the update interval: a domain whose batches take
 * 700 ms each (the real one is too fast for a test to see its progress).
 */
describe('an import that takes a while, reported in one DM', () => {
  let api: SlackApiStandIn;
  const EMPTY = { sent: [], renewed: [], alreadyMember: [], alreadyInvited: [], invalid: [], invitationIds: [] };
  beforeAll(async () => {
    api = await SlackApiStandIn.start('xoxb-import');
    api.users.set('U0ADMIN', { email: 'boss@corp.test', name: 'Admin' });
  });
  afterAll(async () => {
    expect(api.rejected()).toEqual([]);
    await api.stop();
  });

  function slowDomain(rows: number, batchMs: number) {
    let state: ListImportState | undefined;
    const invites = {
      async createFileImport(input: FileImportInput) {
        state = { id: 'import_1', fileName: input.fileName, stage: 'fetching', done: false, fileUrl: input.url, total: 0, position: 0, summary: EMPTY, dm: null, summaryShown: false, slackUserId: 'U0ADMIN', choices: { role: 'member', expiresInDays: null, message: null } };
        return { id: state.id, runner: 'run_1' };
      },
      async holdImport() {},
      // Nothing new to send: no review first (the review is list-file.test.ts's).
      async reviewListImport() {
        return undefined;
      },
      async showImportIn(_run: unknown, dm: { channel: string; ts: string }) {
        state = { ...state!, dm };
      },
      async fillListImport(_run: unknown, file: ListFile) {
        state = { ...state!, stage: 'running', total: file.rows.length, summary: { ...EMPTY, invalid: file.invalid } };
        return structuredClone(state);
      },
      async listImportState() {
        return structuredClone(state!);
      },
      async storeNextBatch() {
        await pause(batchMs);
        const position = Math.min(state!.total, state!.position + 1_000);
        const ids = Array.from({ length: position - state!.position }, (_, i) => `invite_${state!.position + i}`);
        const done = position >= state!.total;
        state = { ...state!, position, done, stage: done ? 'done' : 'running', summary: { ...state!.summary, sent: [...state!.summary.sent, ...ids], invitationIds: [...state!.summary.invitationIds, ...ids] } };
        return structuredClone(state);
      },
      async markSummaryShown() {
        state = { ...state!, summaryShown: true };
      },
      async deliveryProgress(ids: readonly string[]) {
        return { total: ids.length, sent: ids.length, failing: 0 };
      },
    };
    expect(rows).toBeGreaterThan(0);
    return { invites: invites as unknown as InvitesService, state: () => state! };
  }

  it('posts once, updates in place no more often than every 2 s, and ends with the summary', async () => {
    const background = new Background();
    const domain = slowDomain(5_000, 700);
    const invites = domain.invites;
    const imports = new SlackListImports({ invites, background, clock: new ManualClock(), logger: captureLogger('silent').logger, command: '/doorman' }, new webApi.WebClient('xoxb-import', { slackApiUrl: `${api.url}/` }), 'xoxb-import', [new URL(api.url).origin]);
    const file = api.addFile({ name: 'slow.csv', content: 'email\n' + Array.from({ length: 5_000 }, (_, i) => `slow${i}@corp.test`).join('\n'), filetype: 'csv', mimetype: 'text/csv' });
    const run = await imports.store({ slackUserId: 'U0ADMIN', allowed: true, actor: { type: 'slack', slackUserId: 'U0ADMIN' }, name: 'Admin' } as never, { name: file.name, url: file.url_private_download }, { role: 'member', expiresInDays: null, message: null });
    await imports.run(run);
    await background.stop();
    expect(domain.state().summaryShown).toBe(true);

    const posted = api.callsTo('chat.postMessage');
    expect(posted).toHaveLength(1);
    expect(textOf(posted[0]!.args)).toContain('Reading *slow.csv*');
    const updates = api.callsTo('chat.update');
    expect(updates.every((u) => u.args.ts === posted[0]!.answer?.ts)).toBe(true);
    const progress = updates.filter((u) => /stored [\d,]+ of 5,000 rows/.test(textOf(u.args)));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(textOf(updates.at(-1)!.args)).toContain('Sent 5,000 invitations');
    const times = [posted[0]!.at, ...updates.map((u) => u.at)];
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `update ${i}`).toBeGreaterThanOrEqual(IMPORT_PROGRESS_EVERY_MS - 50);
  }, 30_000);
});
