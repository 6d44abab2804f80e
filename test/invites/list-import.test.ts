import { describe, expect, it } from 'vitest';
import { IMPORT_GIVE_UP_MS, IMPORT_LEASE_MS, ImportLost } from '../../src/invites/import-runs.js';
import { parseListFile } from '../../src/invites/list-file.js';
import { DIALECTS } from '../support/db.js';
import { InvitesService } from '../../src/invites/service.js';
import { CLI, countRows, SETTINGS, SLACK_ADMIN, useWorld } from './fixtures.js';

describe.each(DIALECTS)('list imports, batch by batch (%s)', (dialect) => {
  const world = useWorld(dialect);
  const file = (n: number, prefix = 'imp') => parseListFile('email,role\n' + Array.from({ length: n }, (_, i) => `${prefix}${i}@x.io,${i % 2 ? 'developer' : ''}`).join('\n'), 'imp.csv');

  it('stores 1,000 rows per batch with their own roles, moving the position with each, until done', async () => {
    const w = world();
    const run = await w.invites.createListImport({ fileName: 'imp.csv', file: file(2_500), role: 'admin', actor: CLI });
    expect(await countRows(w.db, 'invitations')).toBe(0);
    const positions: number[] = [];
    let state = await w.invites.listImportState(run.id);
    while (!state.done) {
      state = await w.invites.storeNextBatch(run);
      positions.push(state.position);
      expect(await countRows(w.db, 'invitations')).toBe(state.position);
    }
    expect(positions).toEqual([1_000, 2_000, 2_500]);
    expect(state.summary.sent).toHaveLength(2_500);
    expect(await countRows(w.db, 'invitations', { role: 'developer' })).toBe(1_250);
    expect(await countRows(w.db, 'invitations', { role: 'admin' })).toBe(1_250);
    expect(await countRows(w.db, 'outbox')).toBe(2_500);
    // Done is done: another step changes nothing.
    expect((await w.invites.storeNextBatch(run)).position).toBe(2_500);
    expect(await countRows(w.db, 'invitations')).toBe(2_500);
  });

  it('a cell holding several addresses gives its row\'s role to each of them', async () => {
    const w = world();
    const list = parseListFile('email,role\n"a@x.io; b@x.io",developer\n"c@x.io, d@x.io",\n', 'cells.csv');
    const run = await w.invites.createListImport({ fileName: 'cells.csv', file: list, role: 'admin', actor: CLI });
    await w.invites.storeNextBatch(run);
    const roles = await w.db('invitations').orderBy('email').select('email', 'role');
    expect(roles).toEqual([
      { email: 'a@x.io', role: 'developer' },
      { email: 'b@x.io', role: 'developer' },
      { email: 'c@x.io', role: 'admin' },
      { email: 'd@x.io', role: 'admin' },
    ]);
  });

  it('a batch of rows with nothing to read (a spreadsheet\'s empty ";;" rows) is passed, and the import finishes', async () => {
    const w = world();
    // The parser now drops such rows; an import stored before it did still holds them.
    const entries = [...Array.from({ length: 1_000 }, (_, i) => `row${i}@x.io`), ...Array.from({ length: 1_000 }, () => ';;'), 'last@x.io'];
    const list = { rows: entries.map((entry) => ({ entry, role: null })), invalid: [] };
    expect(parseListFile(entries.join('\n'), 'excel.txt').rows).toHaveLength(1_001);
    const run = await w.invites.createListImport({ fileName: 'excel.txt', file: list, role: 'member', actor: CLI });
    let state = await w.invites.listImportState(run.id);
    while (!state.done) state = await w.invites.storeNextBatch(run);
    expect(state.summary.sent).toHaveLength(1_001);
    expect(await countRows(w.db, 'invitations')).toBe(1_001);
  });

  it('a batch the list rules refuse as a whole (too long) is reported row by row with why, and the import goes on', async () => {
    const w = world();
    const long = (i: number) => `${'N'.repeat(2_100)} <long${i}@x.io>`;
    const text = [...Array.from({ length: 1_000 }, (_, i) => long(i)), 'after@x.io'].join('\n');
    const run = await w.invites.createListImport({ fileName: 'long.txt', file: parseListFile(text, 'long.txt'), role: 'member', actor: CLI });
    let state = await w.invites.listImportState(run.id);
    while (!state.done) state = await w.invites.storeNextBatch(run);
    expect(state.summary.sent).toEqual(['after@x.io']);
    expect(state.summary.invalid).toHaveLength(1_000);
    expect(state.summary.invalid[0]!.reason).toContain('The list is too long');
  });

  it('a bootstrap admin no longer in SLACK_ADMIN_USER_IDS (a restart between batches) has nothing more stored in their name', async () => {
    const w = world();
    const boot = { type: 'slack' as const, slackUserId: 'U0BOOT', name: 'Boot' };
    const listed = new InvitesService(w.db, w.clock, { ...SETTINGS, policy: { dailyLimit: 500, unlimitedSlackUserIds: ['U0BOOT'] } });
    const run = await listed.createListImport({ fileName: 'boot.csv', file: file(1_500, 'boot'), role: 'member', actor: boot });
    expect((await listed.storeNextBatch(run)).position).toBe(1_000);
    const unlisted = new InvitesService(w.db, w.clock, { ...SETTINGS, policy: { dailyLimit: 500, unlimitedSlackUserIds: ['U0OTHER'] } });
    const state = await unlisted.storeNextBatch(run);
    expect(state.done).toBe(true);
    expect(state.summary.invalid).toEqual([{ entry: '500 entries not stored', reason: 'the import stopped because you may no longer invite people (you are no longer in SLACK_ADMIN_USER_IDS)' }]);
    expect(await countRows(w.db, 'invitations')).toBe(1_000);
  });

  it('a Slack import whose runner stopped is taken over once its lease runs out, by one runner, and finished exactly once; a CLI one stays stopped', async () => {
    const w = world();
    const first = await w.invites.createFileImport({ fileName: 'imp.csv', url: 'https://files.slack.com/files-pri/T1-F2/imp.csv', role: 'member', actor: SLACK_ADMIN });
    await w.invites.showImportIn(first, { channel: 'D0ADMIN', ts: '1700000000.000100' });
    await w.invites.fillListImport(first, file(2_200));
    const fromCli = await w.invites.createListImport({ fileName: 'cli.csv', file: file(1_500, 'cli'), role: 'member', actor: CLI });
    await w.invites.storeNextBatch(first);
    await w.invites.storeNextBatch(fromCli);
    // The runner stops here (a restart). Within its lease, nobody takes over.
    expect(await w.invites.takeOverStalledImport()).toBeUndefined();
    w.clock.advance(IMPORT_LEASE_MS + 1);
    // Not by this process, which runs it already.
    expect(await w.invites.takeOverStalledImport([first.id])).toBeUndefined();
    const [a, b] = await Promise.all([w.invites.takeOverStalledImport(), w.invites.takeOverStalledImport()]);
    const taken = [a, b].filter((run) => run !== undefined);
    expect(taken.map((run) => run.id)).toEqual([first.id]);
    const second = taken[0]!;
    // The first runner wakes up: every step of it is refused, and nothing it did counts twice.
    await expect(w.invites.storeNextBatch(first)).rejects.toBeInstanceOf(ImportLost);
    await expect(w.invites.holdImport(first)).rejects.toBeInstanceOf(ImportLost);
    await expect(w.invites.markSummaryShown(first)).rejects.toBeInstanceOf(ImportLost);
    // The same runner storing the same next batch twice at once: one batch is stored.
    const [x, y] = await Promise.all([w.invites.storeNextBatch(second), w.invites.storeNextBatch(second)]);
    expect(Math.max(x.position, y.position)).toBe(2_000);
    let state = await w.invites.listImportState(first.id);
    while (!state.done) state = await w.invites.storeNextBatch(second);
    expect(await countRows(w.db, 'invitations')).toBe(3_200);
    expect(await countRows(w.db, 'outbox')).toBe(3_200);
    // Stored but its summary not shown yet (Slack out of reach, say): still a runner's to finish.
    w.clock.advance(IMPORT_LEASE_MS + 1);
    const third = await w.invites.takeOverStalledImport();
    expect(third?.id).toBe(first.id);
    await expect(w.invites.markSummaryShown(second)).rejects.toBeInstanceOf(ImportLost);
    await w.invites.markSummaryShown(third!);
    // The operator's Ctrl-C is theirs: the CLI import is never taken over.
    w.clock.advance(IMPORT_LEASE_MS + 1);
    expect(await w.invites.takeOverStalledImport()).toBeUndefined();
    expect((await w.invites.listImportState(first.id)).summaryShown).toBe(true);
    expect((await w.invites.listImportState(fromCli.id)).position).toBe(1_000);
    expect(state.summary.sent).toHaveLength(2_200);
    expect(state.summary.alreadyInvited).toEqual([]);
  });

  it('a CLI import is finished with its last batch: nothing is left for a take-over to look at', async () => {
    const w = world();
    const run = await w.invites.createListImport({ fileName: 'cli.csv', file: file(10, 'fin'), role: 'member', actor: CLI });
    expect((await w.invites.storeNextBatch(run)).summaryShown).toBe(true);
  });

  it('a Slack import is stored before its file is read: nothing is invited until its list is filled in, and a stopped one is taken over', async () => {
    const w = world();
    const first = await w.invites.createFileImport({ fileName: 'later.csv', url: 'https://files.slack.com/files-pri/T1-F1/later.csv', role: 'developer', actor: SLACK_ADMIN, inviterName: 'Ada Admin' });
    let state = await w.invites.listImportState(first.id);
    expect(state).toMatchObject({ stage: 'fetching', done: false, fileUrl: 'https://files.slack.com/files-pri/T1-F1/later.csv', total: 0, dm: null, summaryShown: false, slackUserId: 'U123ADMIN' });
    // Nothing to store before the file is read, and storing does not end it.
    expect((await w.invites.storeNextBatch(first)).stage).toBe('fetching');
    await w.invites.showImportIn(first, { channel: 'D0ADA', ts: '1700000000.000200' });
    // Stopped before the download (a restart): taken over once its lease runs out.
    expect(await w.invites.takeOverStalledImport()).toBeUndefined();
    w.clock.advance(IMPORT_LEASE_MS + 1);
    const second = (await w.invites.takeOverStalledImport())!;
    expect(second.id).toBe(first.id);
    // The stalled runner, downloading meanwhile, can neither fill it in, nor drop it, nor move its DM.
    await expect(w.invites.fillListImport(first, file(5, 'stale'))).rejects.toBeInstanceOf(ImportLost);
    await expect(w.invites.dropListImport(first)).rejects.toBeInstanceOf(ImportLost);
    await expect(w.invites.showImportIn(first, { channel: 'D0ADA', ts: '1700000000.000999' })).rejects.toBeInstanceOf(ImportLost);
    state = await w.invites.fillListImport(second, file(1_200, 'later'));
    expect(state).toMatchObject({ stage: 'running', total: 1_200, position: 0, dm: { channel: 'D0ADA', ts: '1700000000.000200' } });
    // Read again (the same runner, after a retry), the list stays as first filled in.
    expect((await w.invites.fillListImport(second, file(5, 'again'))).total).toBe(1_200);
    while (!state.done) state = await w.invites.storeNextBatch(second);
    expect(await countRows(w.db, 'invitations', { role: 'developer' })).toBe(1_200);
    expect(state.summaryShown).toBe(false);
  });

  it('a Slack import whose file could not be read is dropped by its runner; none is kept', async () => {
    const w = world();
    const run = await w.invites.createFileImport({ fileName: 'photo.csv', url: 'https://files.slack.com/x', role: 'member', actor: SLACK_ADMIN });
    await w.invites.dropListImport(run);
    expect(await countRows(w.db, 'list_imports')).toBe(0);
    await expect(w.invites.listImportState(run.id)).rejects.toThrow(/no list import/);
  });

  it('a Slack import left unfinished for a day is given up: never read, dropped; its summary never shown, closed; rows left, kept going', async () => {
    const w = world();
    const neverRead = await w.invites.createFileImport({ fileName: 'old.csv', url: 'https://files.slack.com/old', role: 'member', actor: SLACK_ADMIN });
    const notShown = await w.invites.createFileImport({ fileName: 'shown.csv', url: 'https://files.slack.com/shown', role: 'member', actor: SLACK_ADMIN });
    await w.invites.fillListImport(notShown, file(3, 'shown'));
    await w.invites.storeNextBatch(notShown);
    const halfway = await w.invites.createFileImport({ fileName: 'half.csv', url: 'https://files.slack.com/half', role: 'member', actor: SLACK_ADMIN });
    await w.invites.fillListImport(halfway, file(1_500, 'half'));
    await w.invites.storeNextBatch(halfway);
    w.clock.advance(IMPORT_GIVE_UP_MS - 1);
    expect(await w.invites.giveUpStaleImports()).toEqual([]);
    w.clock.advance(2);
    // Two instances looking at the same moment: each import is given up, and told of, by one.
    const givenUp = (await Promise.all([w.invites.giveUpStaleImports(), w.invites.giveUpStaleImports()])).flat();
    expect(givenUp.map((g) => [g.fileName, g.how, g.slackUserId])).toEqual(
      expect.arrayContaining([
        ['old.csv', 'dropped', 'U123ADMIN'],
        ['shown.csv', 'closed', 'U123ADMIN'],
      ]),
    );
    expect(givenUp).toHaveLength(2);
    expect(givenUp.find((g) => g.how === 'closed')!.summary.sent).toHaveLength(3);
    expect(await w.invites.giveUpStaleImports()).toEqual([]);
    await expect(w.invites.listImportState(neverRead.id)).rejects.toThrow(/no list import/);
    expect((await w.invites.listImportState(notShown.id)).summaryShown).toBe(true);
    expect((await w.invites.takeOverStalledImport())?.id).toBe(halfway.id);
    expect(await w.invites.takeOverStalledImport()).toBeUndefined();
  });
});
