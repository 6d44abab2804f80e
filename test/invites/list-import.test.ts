import { describe, expect, it } from 'vitest';
import { IMPORT_LEASE_MS } from '../../src/invites/list-import.js';
import { parseListFile } from '../../src/invites/list-file.js';
import { DIALECTS } from '../support/db.js';
import { CLI, countRows, SLACK_ADMIN, useWorld } from './fixtures.js';

describe.each(DIALECTS)('list imports, batch by batch (%s)', (dialect) => {
  const world = useWorld(dialect);
  const file = (n: number, prefix = 'imp') => parseListFile('email,role\n' + Array.from({ length: n }, (_, i) => `${prefix}${i}@x.io,${i % 2 ? 'developer' : ''}`).join('\n'), 'imp.csv');

  it('stores 1,000 rows per batch with their own roles, moving the position with each, until done', async () => {
    const w = world();
    const id = await w.invites.createListImport({ fileName: 'imp.csv', file: file(2_500), role: 'admin', actor: CLI });
    expect(await countRows(w.db, 'invitations')).toBe(0);
    const positions: number[] = [];
    let state = await w.invites.listImportState(id);
    while (!state.done) {
      state = await w.invites.storeNextBatch(id);
      positions.push(state.position);
      expect(await countRows(w.db, 'invitations')).toBe(state.position);
    }
    expect(positions).toEqual([1_000, 2_000, 2_500]);
    expect(state.summary.sent).toHaveLength(2_500);
    expect(await countRows(w.db, 'invitations', { role: 'developer' })).toBe(1_250);
    expect(await countRows(w.db, 'invitations', { role: 'admin' })).toBe(1_250);
    expect(await countRows(w.db, 'outbox')).toBe(2_500);
    // Done is done: another step changes nothing.
    expect((await w.invites.storeNextBatch(id)).position).toBe(2_500);
    expect(await countRows(w.db, 'invitations')).toBe(2_500);
  });

  it('a batch of rows with nothing to read (a spreadsheet\'s empty ";;" rows) is passed, and the import finishes', async () => {
    const w = world();
    const text = [...Array.from({ length: 1_000 }, (_, i) => `row${i}@x.io`), ...Array.from({ length: 1_000 }, () => ';;'), 'last@x.io'].join('\n');
    const list = parseListFile(text, 'excel.txt');
    expect(list.rows.length).toBeGreaterThan(2_000);
    const id = await w.invites.createListImport({ fileName: 'excel.txt', file: list, role: 'member', actor: CLI });
    let state = await w.invites.listImportState(id);
    while (!state.done) state = await w.invites.storeNextBatch(id);
    expect(state.summary.sent).toHaveLength(1_001);
    expect(await countRows(w.db, 'invitations')).toBe(1_001);
  });

  it('a batch the list rules refuse as a whole (too long) is reported row by row with why, and the import goes on', async () => {
    const w = world();
    const long = (i: number) => `${'N'.repeat(2_100)} <long${i}@x.io>`;
    const text = [...Array.from({ length: 1_000 }, (_, i) => long(i)), 'after@x.io'].join('\n');
    const id = await w.invites.createListImport({ fileName: 'long.txt', file: parseListFile(text, 'long.txt'), role: 'member', actor: CLI });
    let state = await w.invites.listImportState(id);
    while (!state.done) state = await w.invites.storeNextBatch(id);
    expect(state.summary.sent).toEqual(['after@x.io']);
    expect(state.summary.invalid).toHaveLength(1_000);
    expect(state.summary.invalid[0]!.reason).toContain('The list is too long');
  });

  it('a Slack import whose runner stopped is taken over once its lease runs out, by one runner, and finished exactly once; a CLI one stays stopped', async () => {
    const w = world();
    const id = await w.invites.createListImport({ fileName: 'imp.csv', file: file(2_200), role: 'member', actor: CLI, dm: { channel: 'D0ADMIN', ts: '1700000000.000100' } });
    const fromCli = await w.invites.createListImport({ fileName: 'cli.csv', file: file(1_500, 'cli'), role: 'member', actor: CLI });
    await w.invites.storeNextBatch(id);
    await w.invites.storeNextBatch(fromCli);
    // The runner stops here (a restart). Within its lease, nobody takes over.
    expect(await w.invites.takeOverStalledImports()).toEqual([]);
    w.clock.advance(IMPORT_LEASE_MS + 1);
    const [first, second] = await Promise.all([w.invites.takeOverStalledImports(), w.invites.takeOverStalledImports()]);
    expect([...first, ...second]).toEqual([id]);
    // Two runners storing the same next batch at once (the old one woke up): one batch is stored.
    const [a, b] = await Promise.all([w.invites.storeNextBatch(id), w.invites.storeNextBatch(id)]);
    expect(Math.max(a.position, b.position)).toBe(2_000);
    let state = await w.invites.listImportState(id);
    while (!state.done) state = await w.invites.storeNextBatch(id);
    expect(await countRows(w.db, 'invitations')).toBe(3_200);
    expect(await countRows(w.db, 'outbox')).toBe(3_200);
    // Stored but its summary not shown yet (Slack out of reach, say): still the runner's to finish.
    w.clock.advance(IMPORT_LEASE_MS + 1);
    expect(await w.invites.takeOverStalledImports()).toEqual([id]);
    await w.invites.markSummaryShown(id);
    // The operator's Ctrl-C is theirs: the CLI import is never taken over.
    w.clock.advance(IMPORT_LEASE_MS + 1);
    expect(await w.invites.takeOverStalledImports()).toEqual([]);
    expect((await w.invites.listImportState(id)).summaryShown).toBe(true);
    expect((await w.invites.listImportState(fromCli)).position).toBe(1_000);
    expect(state.summary.sent).toHaveLength(2_200);
    expect(state.summary.alreadyInvited).toEqual([]);
  });

  it('a Slack import is stored before its file is read: nothing is invited until its list is filled in, and a stopped one is taken over', async () => {
    const w = world();
    const id = await w.invites.createFileImport({ fileName: 'later.csv', url: 'https://files.slack.com/files-pri/T1-F1/later.csv', role: 'developer', actor: SLACK_ADMIN, inviterName: 'Ada Admin' });
    let state = await w.invites.listImportState(id);
    expect(state).toMatchObject({ stage: 'fetching', done: false, fileUrl: 'https://files.slack.com/files-pri/T1-F1/later.csv', total: 0, dm: null, summaryShown: false, slackUserId: 'U123ADMIN' });
    // Nothing to store before the file is read, and storing does not end it.
    expect((await w.invites.storeNextBatch(id)).stage).toBe('fetching');
    // Stopped before the download (a restart): taken over once its lease runs out, even with no DM yet.
    expect(await w.invites.takeOverStalledImports()).toEqual([]);
    w.clock.advance(IMPORT_LEASE_MS + 1);
    expect(await w.invites.takeOverStalledImports()).toEqual([id]);
    await w.invites.showImportIn(id, { channel: 'D0ADA', ts: '1700000000.000200' });
    // The DM first posted stays the one shown, whoever takes over.
    await w.invites.showImportIn(id, { channel: 'D0ADA', ts: '1700000000.000999' });
    state = await w.invites.fillListImport(id, file(1_200, 'later'));
    expect(state).toMatchObject({ stage: 'running', total: 1_200, position: 0, dm: { channel: 'D0ADA', ts: '1700000000.000200' } });
    // A runner that lost it to another, reading the file again, changes nothing; nor can it drop it.
    expect((await w.invites.fillListImport(id, file(5, 'stale'))).total).toBe(1_200);
    await w.invites.dropListImport(id);
    while (!state.done) state = await w.invites.storeNextBatch(id);
    expect(await countRows(w.db, 'invitations', { role: 'developer' })).toBe(1_200);
    expect(state.summaryShown).toBe(false);
  });

  it('a Slack import whose file could not be read is dropped once its inviter is told', async () => {
    const w = world();
    const id = await w.invites.createFileImport({ fileName: 'photo.csv', url: 'https://files.slack.com/x', role: 'member', actor: SLACK_ADMIN });
    await w.invites.dropListImport(id);
    expect(await countRows(w.db, 'list_imports')).toBe(0);
    await expect(w.invites.listImportState(id)).rejects.toThrow(/no list import/);
  });
});
