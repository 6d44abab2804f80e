import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IMPORT_GIVE_UP_MS, IMPORT_LEASE_MS } from '../../src/invites/import-runs.js';
import { DIALECTS } from '../support/db.js';
import type { ApiCall } from '../support/slack-api.js';
import { ADMIN, ADMIN2, buttonFor, eventually, LINKED, pause, SlackWorld, textOf } from '../support/slack-world.js';

const ROWS = 10_000;

/** Waits until a file's import is kept as a review (drawn in its DM a moment before). */
function keptAsReview(h: SlackWorld, where: { id: string } | { file_name: string }) {
  return eventually(async () => (await h.db.db('list_imports').where(where).first('state'))?.state === 'review', 5_000, 'the review kept');
}

/** Waits for a file's review in its DM (`updates`: that DM's updates) and presses Send on it as `user`. */
async function sendReviewed(h: SlackWorld, updates: () => ApiCall[], user = ADMIN): Promise<ApiCall> {
  const review = await h.api.waitFor(() => updates().find((c) => JSON.stringify(c.args.blocks ?? []).includes('"import_send"')), 20_000, 'the review');
  // A click before it is kept is asked to press again.
  await keptAsReview(h, { id: buttonFor(review.args.blocks, 'import_send').value as string });
  const click = await h.clickDm(review, buttonFor(review.args.blocks, 'import_send'), { user });
  expect(click.ack.status).toBe(200);
  return review;
}

describe.each(DIALECTS)('a list from a file in the invite form (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  /** Every update of the DM an import reports in (its first message names the file). */
  const updatesOf = (fileName: string) => {
    const posted = h.api.callsTo('chat.postMessage').find((c) => String(c.args.text).includes(fileName));
    if (!posted) return [];
    return h.api.callsTo('chat.update').filter((c) => c.args.ts === posted.answer?.ts);
  };

  it(`stores ${ROWS.toLocaleString('en')} rows in the background, the DM updated in place at most every 2 s, then the summary`, async () => {
    const header = 'Email,First Name,Last Name,Role';
    const rows = Array.from({ length: ROWS }, (_, i) => {
      if (i === 10) return 'pat@corp.test,Pat,Plain,'; // already a member
      if (i === 11) return 'not-an-address,No,Body,member';
      if (i === 12) return 'boss.role@corp.test,Bo,Ss,owner'; // no such role
      return `row${i}@corp.test,First${i},"Last, ${i}",${i % 3 === 0 ? 'developer' : i % 3 === 1 ? 'Admin' : ''}`;
    });
    const file = h.api.addFile({ name: 'people.csv', content: [header, ...rows].join('\r\n'), filetype: 'csv', mimetype: 'text/csv' });
    const res = await h.submitInvite({ emails: '', files: [file], role: 'member' });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3_000);
    expect(textOf((res.json as any).view)).toContain('Reading *people.csv*');

    // Nothing is stored before Send on the review, which says what sending would do.
    const review = await sendReviewed(h, () => updatesOf('people.csv'));
    const reviewed = textOf(review.args);
    expect(reviewed).toMatch(/\*New \(9,997\)\*/);
    expect(reviewed).toMatch(/\*Of these, waiting for approval before they are emailed \(3,332\)\*/);
    expect(reviewed).toMatch(/\*Already members \(skipped\) \(1\)\*[^]*pat@corp\.test/);
    expect(reviewed).toMatch(/\*Not valid \(skipped\) \(2\)\*[^]*not-an-address[^]*boss\.role@corp\.test/);
    expect(buttonFor(review.args.blocks, 'import_send').text.text).toBe('Send 9,997 invitations');

    // The admin rows wait for a second person (the rule "Policy").
    const summary = await h.api.waitFor(() => updatesOf('people.csv').find((c) => /Sent 6,665 invitations/.test(textOf(c.args))), 120_000, 'the summary');
    expect(textOf(summary.args)).toMatch(/Waiting for approval \(3,332\)/);
    expect(textOf(summary.args)).toMatch(/pat@corp\.test/);
    expect(textOf(summary.args)).toMatch(/not-an-address/);
    expect(textOf(summary.args)).toMatch(/boss\.role@corp\.test` — unknown role \\"owner\\"/);
    const updates = updatesOf('people.csv').slice(updatesOf('people.csv').indexOf(review) + 1);
    // Progress shows only when storing takes longer than 2 s (see list-imports.test.ts for that case).
    for (const update of updates.slice(0, updates.indexOf(summary))) expect(textOf(update.args)).toMatch(/stored [\d,]+ of 9,999 rows/);
    // In place, and never more often than every 2 s from the Send on (the summary included).
    const times = updates.slice(0, updates.indexOf(summary) + 1).map((c) => c.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `update ${i}`).toBeGreaterThanOrEqual(1_950);

    const roles = await h.db.db('invitations').where('email', 'like', 'row%').select('role').count<{ role: string; n: number }[]>({ n: '*' }).groupBy('role');
    expect(Object.fromEntries(roles.map((r) => [r.role, Number(r.n)]))).toEqual({ developer: 3_333, admin: 3_332, member: 3_332 });
    const imported = await h.db.db('list_imports').first('state', 'position', 'total');
    expect(imported).toMatchObject({ state: 'done' });
    expect(Number(imported.position)).toBe(Number(imported.total));
    // Downloaded once, with the bot token.
    expect(h.api.downloads.filter((d) => d.fileId === file.id)).toEqual([expect.objectContaining({ served: true })]);
  }, 180_000);

  it('a .txt with one address per line works too', async () => {
    const file = h.api.addFile({ name: 'few.txt', content: 'one.txt@corp.test\nJane Txt <two.txt@corp.test>\n\n', filetype: 'text', mimetype: 'text/plain' });
    await h.submitInvite({ emails: '', files: [file], role: 'developer' });
    await sendReviewed(h, () => updatesOf('few.txt'));
    await h.api.waitFor(() => updatesOf('few.txt').find((c) => /Sent 2 invitations/.test(textOf(c.args))), 20_000, 'the summary');
    expect(await h.db.db('invitations').whereIn('email', ['one.txt@corp.test', 'two.txt@corp.test']).where({ role: 'developer' }).count<{ n: number }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(2);
  });

  it('Cancel on a file\'s review invites nothing and keeps nothing; a Send after it is told so', async () => {
    const before = await h.counts();
    const file = h.api.addFile({ name: 'cancel.csv', content: 'email\ncancel1@corp.test\ncancel2@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
    await h.submitInvite({ emails: '', files: [file] });
    const review = await h.api.waitFor(() => updatesOf('cancel.csv').find((c) => JSON.stringify(c.args.blocks ?? []).includes('"import_cancel"')), 10_000, 'the review');
    // Waiting for its inviter: nothing stored, and no take-over starts it.
    await keptAsReview(h, { file_name: 'cancel.csv' });
    expect(await h.counts()).toEqual(before);
    expect(await h.services.invites.takeOverStalledImport([])).toBeUndefined();
    const cancel = await h.clickDm(review, buttonFor(review.args.blocks, 'import_cancel'));
    expect(textOf((await h.api.response(cancel.responseId)).body)).toContain('Cancelled: nothing of *cancel.csv* was invited');
    const send = await h.clickDm(review, buttonFor(review.args.blocks, 'import_send'));
    expect(textOf((await h.api.response(send.responseId)).body)).toContain('already sent or cancelled');
    await h.settle();
    expect(await h.counts()).toEqual(before);
    expect(await h.db.db('list_imports').where({ file_name: 'cancel.csv' })).toEqual([]);
  });

  it('a file\'s review is sent once, by its inviter: another admin\'s click is refused, and a double click stores it once', async () => {
    const file = h.api.addFile({ name: 'once.csv', content: 'email\nonce1@corp.test\nonce2@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
    await h.submitInvite({ emails: '', files: [file] });
    const review = await h.api.waitFor(() => updatesOf('once.csv').find((c) => JSON.stringify(c.args.blocks ?? []).includes('"import_send"')), 10_000, 'the review');
    await keptAsReview(h, { file_name: 'once.csv' });
    const send = buttonFor(review.args.blocks, 'import_send');
    const other = await h.clickDm(review, send, { user: ADMIN2 });
    expect(textOf((await h.api.response(other.responseId)).body)).toContain('Only the person who attached this file can send it');
    const [a, b] = await Promise.all([h.clickDm(review, send), h.clickDm(review, send)]);
    await h.api.waitFor(() => updatesOf('once.csv').find((c) => /Sent 2 invitations/.test(textOf(c.args))), 10_000, 'the summary');
    // The second is a double click (dropped unanswered); across instances the import's own state lets one through.
    const answers = [a, b].flatMap((click) => h.api.responsesTo(click.responseId).map((r) => textOf(r.body)));
    expect(answers.filter((t) => t.includes('Sending *once.csv*'))).toHaveLength(1);
    expect(await h.db.db('invitations').where('email', 'like', 'once%')).toHaveLength(2);
  });

  it('a file\'s review not sent within a day is given up: nothing invited, nothing kept', async () => {
    const file = h.api.addFile({ name: 'unsent.csv', content: 'email\nunsent@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
    await h.submitInvite({ emails: '', files: [file] });
    await h.api.waitFor(() => updatesOf('unsent.csv').find((c) => JSON.stringify(c.args.blocks ?? []).includes('"import_send"')), 10_000, 'the review');
    // Shown, then kept as a review.
    await eventually(async () => (await h.db.db('list_imports').where({ file_name: 'unsent.csv' }).first('state'))?.state === 'review', 5_000, 'the review kept');
    h.clock.advance(IMPORT_GIVE_UP_MS + 1);
    const given = await h.services.invites.giveUpStaleImports();
    expect(given.find((g) => g.fileName === 'unsent.csv')).toMatchObject({ how: 'unsent', slackUserId: ADMIN });
    expect(await h.db.db('list_imports').where({ file_name: 'unsent.csv' })).toEqual([]);
    expect(await h.db.db('invitations').where({ email: 'unsent@corp.test' })).toEqual([]);
  });

  it('a file that is not a list gets one clear answer, and nothing is stored', async () => {
    const before = await h.counts();
    const cases = [
      h.api.addFile({ name: 'photo.csv', content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 0x49, 0x48]), filetype: 'csv', mimetype: 'text/csv' }),
      h.api.addFile({ name: 'columns.csv', content: 'jane@corp.test,Jane,Doe\nsam@corp.test,Sam,Roe\n', filetype: 'csv', mimetype: 'text/csv' }),
      h.api.addFile({ name: 'empty.txt', content: '\n\n', filetype: 'text', mimetype: 'text/plain' }),
      h.api.addFile({ name: 'huge.csv', content: 'email\n' + 'x@corp.test\n'.repeat(10_001), filetype: 'csv', mimetype: 'text/csv' }),
    ];
    for (const file of cases) {
      await h.submitInvite({ emails: '', files: [file] });
      const answer = await h.api.waitFor(() => updatesOf(file.name).find((c) => /not a list Doorman can read/.test(textOf(c.args))), 10_000, `the answer for ${file.name}`);
      expect(textOf(answer.args)).toMatch(/header row \(email, and optionally first_name, last_name, role\)/);
    }
    expect(textOf(updatesOf('huge.csv')[0]!.args)).toContain('10,001 rows, and at most 10,000');
    await h.settle();
    expect(await h.counts()).toEqual(before);
    // Its inviter told, nothing of it is kept for a take-over to find.
    expect(await h.db.db('list_imports').whereIn('file_name', cases.map((c) => c.name)).select('id')).toEqual([]);
  });

  it('without files:read the download gets Slack\'s sign-in page: the DM says so and nothing is stored', async () => {
    const before = await h.counts();
    h.api.revoke('files:read');
    try {
      const file = h.api.addFile({ name: 'noscope.csv', content: 'email\nnoscope@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
      await h.submitInvite({ emails: '', files: [file] });
      const answer = await h.api.waitFor(() => updatesOf('noscope.csv').find((c) => /could not be downloaded/.test(textOf(c.args))), 10_000, 'the answer');
      expect(textOf(answer.args)).toContain('doorman invite --file');
      expect(h.api.downloads.find((d) => d.fileId === file.id)).toMatchObject({ served: false });
    } finally {
      h.api.grant('files:read');
    }
    await h.settle();
    expect(await h.counts()).toEqual(before);
  });

  it('on Enterprise Grid the file host redirects to files-origin: the download follows it with the token, and the list is stored', async () => {
    h.api.gridFileHost = true;
    try {
      const file = h.api.addFile({ name: 'grid.csv', content: 'email\ngrid@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
      await h.submitInvite({ emails: '', files: [file] });
      await sendReviewed(h, () => updatesOf('grid.csv'));
      await h.api.waitFor(() => updatesOf('grid.csv').find((c) => /Sent 1 invitation/.test(textOf(c.args))), 10_000, 'the summary');
      const downloads = h.api.downloads.filter((d) => d.fileId === file.id);
      expect(downloads.map((d) => [d.served, d.redirectedTo?.split('/')[1]])).toEqual([[false, 'files-origin'], [true, undefined]]);
    } finally {
      h.api.gridFileHost = false;
    }
  });

  it('a download redirected to another host is not followed: the token goes nowhere else, the DM says why, and nothing is stored', async () => {
    const before = await h.counts();
    const file = h.api.addFile({ name: 'stray.csv', content: 'email\nstray@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
    h.api.redirectDownloads(`${h.api.otherOrigin}/elsewhere/stray.csv`);
    await h.submitInvite({ emails: '', files: [file] });
    const answer = await h.api.waitFor(() => updatesOf('stray.csv').find((c) => /could not be downloaded/.test(textOf(c.args))), 10_000, 'the answer');
    expect(textOf(answer.args)).toContain('sign-in page');
    expect(h.api.strayRequests).toEqual([]);
    await h.settle();
    expect(await h.counts()).toEqual(before);
  });

  it('a file with typed addresses, or of another type, is refused on the field and nothing happens', async () => {
    const before = await h.counts();
    const csv = h.api.addFile({ name: 'both.csv', content: 'email\nboth@corp.test\n', filetype: 'csv', mimetype: 'text/csv' });
    const both = await h.submitInvite({ emails: 'typed@corp.test', files: [csv] });
    expect((both.json as any)).toMatchObject({ response_action: 'errors', errors: { file: expect.stringMatching(/not both/) } });
    const pdf = h.api.addFile({ name: 'list.pdf', content: '%PDF-1.4', filetype: 'pdf', mimetype: 'application/pdf' });
    const other = await h.submitInvite({ emails: '', files: [pdf] });
    expect((other.json as any).errors.file).toBe('Attach a .csv or .txt file.');
    await h.settle();
    expect(await h.counts()).toEqual(before);
    expect(h.api.downloads.filter((d) => d.fileId === csv.id || d.fileId === pdf.id)).toEqual([]);
  });
});

/** Restarts and outages around an import, each in a world of its own (no other DMs in flight). */
describe.each(DIALECTS)('a list import from Slack is never lost (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  /** The DM an import reports in (its first message names the file), once posted. */
  const dmOf = (fileName: string) => h.api.callsTo('chat.postMessage').find((c) => textOf(c.args).includes(fileName));
  const updatesOf = (fileName: string) => {
    const posted = dmOf(fileName);
    return posted ? h.api.callsTo('chat.update').filter((c) => c.args.ts === posted.answer?.ts) : [];
  };
  /** A CSV of these addresses attached in Slack. */
  const csv = (name: string, ...emails: string[]) => h.api.addFile({ name, content: ['email', ...emails, ''].join('\n'), filetype: 'csv', mimetype: 'text/csv' });
  /** Waits until the import of this file is finished (its summary shown, or closed without it). */
  const finished = (fileName: string, timeoutMs = 5_000) => eventually(async () => (await importOf(fileName))?.summary_shown_at != null, timeoutMs, 'the import finished');

  /** An import of a new file while Slack's file host is down: once its DM says it tries again. */
  const importWhileHostDown = async (name: string, email: string) => {
    const file = csv(name, email);
    h.api.failDownloads(503);
    await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN });
    const posted = await h.api.waitFor(() => dmOf(name), 5_000, 'the DM');
    await h.api.waitFor(() => updatesOf(name).find((c) => /file host did not answer/.test(textOf(c.args))), 10_000, 'the DM saying it tries again');
    return { file, posted };
  };

  /** The stored import of a file, if any. */
  const importOf = (fileName: string) => h.db.db('list_imports').where({ file_name: fileName }).first('state', 'dm_channel', 'summary_shown_at', 'lease_until');
  const invitedLike = async (prefix: string) => Number((await h.db.db('invitations').where('email', 'like', `${prefix}%`).count<{ n: number }[]>({ n: '*' }))[0]!.n);

  it('Slack out of reach when the import starts: the import waits, stored, and is finished after a restart once Slack answers', async () => {
    const file = csv('outage.csv', 'outage1@corp.test', 'outage2@corp.test');
    // The first post and the client's three retries fail: the runner gives up.
    h.api.fail('chat.postMessage', 500, { times: 4, channel: ADMIN2 });
    const res = await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN2 });
    expect(textOf((res.json as any).view)).toContain('Reading *outage.csv*');
    await h.api.waitFor(() => h.api.failedCallsTo('chat.postMessage').filter((c) => textOf(c.args).includes('outage.csv')).length === 4, 20_000, 'four refused posts');
    await pause(300);
    expect(await importOf('outage.csv')).toMatchObject({ state: 'fetching', dm_channel: null });
    expect(await invitedLike('outage')).toBe(0);

    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_LEASE_MS + 1) });
    await sendReviewed(h, () => updatesOf('outage.csv'), ADMIN2);
    const summary = await h.api.waitFor(() => updatesOf('outage.csv').find((c) => /Sent 2 invitations/.test(textOf(c.args))), 20_000, 'the summary');
    expect(summary.args.channel).toBe(dmOf('outage.csv')!.answer!.channel);
    expect(await invitedLike('outage')).toBe(2);
    await finished('outage.csv');
    expect(h.api.downloads.filter((d) => d.fileId === file.id)).toHaveLength(1);
    expect(h.api.callsTo('chat.postMessage').filter((c) => textOf(c.args).includes('outage.csv'))).toHaveLength(1);
  }, 60_000);

  it('Slack out of reach when the summary is due: the list is stored once, and the summary is shown after a restart', async () => {
    const file = csv('late-summary.csv', 'latesum1@corp.test', 'latesum2@corp.test');
    // Another admin's DM: the first test's DM may still be updated with its delivery.
    await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN });
    // The summary comes at least 2 s after the DM: time to make its update fail.
    const posted = await h.api.waitFor(() => dmOf('late-summary.csv'), 5_000, 'the DM');
    await sendReviewed(h, () => updatesOf('late-summary.csv'));
    h.api.fail('chat.update', 500, { times: 4, channel: posted.answer!.channel });
    await h.api.waitFor(() => h.api.failedCallsTo('chat.update').filter((c) => c.args.ts === posted.answer!.ts).length === 4, 20_000, 'four refused updates');
    await pause(300);
    const before = await h.db.db('list_imports').where({ file_name: 'late-summary.csv' }).first('state', 'position', 'summary', 'summary_shown_at');
    expect(before).toMatchObject({ state: 'done', summary_shown_at: null });
    expect(await invitedLike('latesum')).toBe(2);

    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_LEASE_MS + 1) });
    const summary = await h.api.waitFor(() => updatesOf('late-summary.csv').find((c) => /Sent 2 invitations/.test(textOf(c.args))), 20_000, 'the summary');
    expect(textOf(summary.args)).not.toMatch(/Already invited/);
    await finished('late-summary.csv');
    // Stored once: the rows were not stored again (they would show as already invited).
    const after = await h.db.db('list_imports').where({ file_name: 'late-summary.csv' }).first('position', 'summary');
    expect(after).toEqual({ position: before.position, summary: before.summary });
    expect(await h.db.db('audit_log').where({ action: 'invite' }).whereIn('subject_id', h.db.db('invitations').where('email', 'like', 'latesum%').select('id')).count<{ n: number }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(2);
  }, 60_000);

  it('Slack refuses the DM for good (the inviter left): the import is dropped, nothing is invited, and it is not tried again', async () => {
    const file = csv('gone.csv', 'gone1@corp.test');
    h.api.refuse('chat.postMessage', 'channel_not_found', { channel: ADMIN2 });
    await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN2 });
    await eventually(async () => (await importOf('gone.csv')) === undefined && h.api.failedCallsTo('chat.postMessage').some((c) => textOf(c.args).includes('gone.csv')), 10_000, 'the import dropped');
    expect(await invitedLike('gone')).toBe(0);
    expect(h.api.downloads.filter((d) => d.fileId === file.id)).toEqual([]);
  });

  it("Slack's file host out of reach: the DM says it tries again, and a take-over reads the file", async () => {
    const { file } = await importWhileHostDown('host-down.csv', 'hostdown@corp.test');
    expect(await importOf('host-down.csv')).toMatchObject({ state: 'fetching' });
    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_LEASE_MS + 1) });
    await sendReviewed(h, () => updatesOf('host-down.csv'));
    await h.api.waitFor(() => updatesOf('host-down.csv').find((c) => /Sent 1 invitation/.test(textOf(c.args))), 20_000, 'the summary');
    expect(h.api.downloads.filter((d) => d.fileId === file.id).map((d) => d.served)).toEqual([false, true]);
    expect(h.api.callsTo('chat.postMessage').filter((c) => textOf(c.args).includes('host-down.csv'))).toHaveLength(1);
  }, 60_000);

  it.each(['no longer an admin', 'deactivated'] as const)('an inviter %s when the list is at last read: nothing is invited in their name, and the summary says why', async (change) => {
    const name = `${change.split(' ')[0]}.csv`;
    const prefix = change.replace(/\W/g, '');
    const file = csv(name, `${prefix}1@corp.test`, `${prefix}2@corp.test`);
    h.api.failDownloads(503);
    await h.submitInvite({ emails: '', files: [file] }, { user: LINKED });
    await h.api.waitFor(() => updatesOf(name).find((c) => /file host did not answer/.test(textOf(c.args))), 10_000, 'the DM saying it tries again');
    const system = { type: 'system', name: 'cli:test' } as const;
    // Deactivation also releases the member's Slack link: the import's stored inviter is what is checked.
    if (change === 'deactivated') await h.services.members.deactivate(h.ids.linked, system);
    else await h.services.members.setRole(h.ids.linked, 'member', system);
    try {
      await h.restart({ whileStopped: () => h.clock.advance(IMPORT_LEASE_MS + 1) });
      const summary = await h.api.waitFor(() => updatesOf(name).find((c) => /Not invited/.test(textOf(c.args))), 20_000, 'the summary');
      expect(textOf(summary.args)).toContain('2 entries not stored');
      expect(textOf(summary.args)).toContain('the import stopped because you may no longer invite people');
      expect(await invitedLike(prefix)).toBe(0);
      await finished(name);
    } finally {
      if (change === 'deactivated') {
        await h.db.db('members').where({ id: h.ids.linked }).update({ state: 'active', deactivated_at: null, slack_user_id: LINKED });
      } else await h.services.members.setRole(h.ids.linked, 'admin', system);
    }
  }, 60_000);

  it("Slack's file host out of reach for a day: the import is given up, and its DM says so instead of \"trying again\"", async () => {
    const { file, posted } = await importWhileHostDown('day-down.csv', 'daydown@corp.test');
    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_GIVE_UP_MS + 1) });
    const told = await h.api.waitFor(() => updatesOf('day-down.csv').find((c) => /could not be read from Slack for a day/.test(textOf(c.args))), 20_000, 'the DM saying it was given up');
    expect(told.args.channel).toBe(posted.answer!.channel);
    expect(await importOf('day-down.csv')).toBeUndefined();
    expect(h.api.downloads.filter((d) => d.fileId === file.id)).toHaveLength(1);
    expect(await invitedLike('daydown')).toBe(0);
  }, 60_000);

  it('an import given up whose DM is gone: its inviter is told in a new DM', async () => {
    const { posted } = await importWhileHostDown('dm-gone.csv', 'dmgone@corp.test');
    h.api.refuse('chat.update', 'message_not_found', { ts: posted.answer!.ts });
    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_GIVE_UP_MS + 1) });
    const told = await h.api.waitFor(() => h.api.callsTo('chat.postMessage').find((c) => c !== posted && /dm-gone\.csv\* could not be read from Slack for a day/.test(textOf(c.args))), 20_000, 'a new DM');
    expect(told.args.channel).toBe(ADMIN);
    expect(h.api.failedCallsTo('chat.update').filter((c) => c.args.ts === posted.answer!.ts)).toHaveLength(1);
  }, 60_000);

  it('Slack out of reach for a day from the start: the import is given up, and its inviter gets one DM saying so', async () => {
    const file = csv('never-dm.csv', 'neverdm@corp.test');
    h.api.fail('chat.postMessage', 500, { times: 4, channel: ADMIN2 });
    await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN2 });
    await h.api.waitFor(() => h.api.failedCallsTo('chat.postMessage').filter((c) => textOf(c.args).includes('never-dm.csv')).length === 4, 20_000, 'four refused posts');
    await pause(300);
    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_GIVE_UP_MS + 1) });
    await eventually(async () => (await importOf('never-dm.csv')) === undefined, 20_000, 'the import given up');
    const dms = await h.api.waitFor(() => {
      const posts = h.api.callsTo('chat.postMessage').filter((c) => textOf(c.args).includes('never-dm.csv'));
      return posts.length ? posts : undefined;
    }, 5_000, 'the DM');
    expect(dms).toHaveLength(1);
    expect(dms[0]!.args.channel).toBe(ADMIN2);
    expect(textOf(dms[0]!.args)).toMatch(/could not be read from Slack for a day, so nothing of it was invited/);
    expect(h.api.downloads.filter((d) => d.fileId === file.id)).toEqual([]);
    expect(await invitedLike('neverdm')).toBe(0);
  }, 60_000);

  it('a runner at work keeps its lease: renewed while a download hangs, so no take-over starts it again', async () => {
    const file = csv('slow-host.csv', 'slowhost@corp.test');
    const leaseOf = async () => Number((await importOf('slow-host.csv'))?.lease_until ?? NaN);
    h.api.failDownloads('hang');
    // Only the intervals are fake: the heartbeat's, which the test fires by hand; the rest runs as usual.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN });
      await h.api.waitFor(() => h.api.downloadsHeld === 1, 5_000, 'the download under way');
      const first = await leaseOf();
      // Two-thirds of the lease on, the download still hanging: the heartbeat renews it.
      h.clock.advance((IMPORT_LEASE_MS * 2) / 3);
      vi.advanceTimersByTime(IMPORT_LEASE_MS / 3);
      await eventually(async () => (await leaseOf()) === first + (IMPORT_LEASE_MS * 2) / 3, 5_000, 'the lease renewed');
    } finally {
      vi.useRealTimers();
    }
    // Past the first lease, within the renewed one: another instance cannot take the import over.
    h.clock.advance(IMPORT_LEASE_MS / 2);
    expect(await h.services.invites.takeOverStalledImport([])).toBeUndefined();
    h.api.releaseDownloads();
    await sendReviewed(h, () => updatesOf('slow-host.csv'));
    await h.api.waitFor(() => updatesOf('slow-host.csv').find((c) => /Sent 1 invitation/.test(textOf(c.args))), 10_000, 'the summary');
    expect(h.api.downloads.filter((d) => d.fileId === file.id).map((d) => d.served)).toEqual([true]);
  });

  it('a download cut off halfway: the import is kept, and a take-over reads the whole file', async () => {
    const file = csv('cut-off.csv', ...Array.from({ length: 200 }, (_, i) => `cutoff${i}@corp.test`));
    h.api.failDownloads('cut');
    await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN });
    await h.api.waitFor(() => updatesOf('cut-off.csv').find((c) => /file host did not answer/.test(textOf(c.args))), 10_000, 'the DM saying it tries again');
    expect(await importOf('cut-off.csv')).toMatchObject({ state: 'fetching' });
    expect(await invitedLike('cutoff')).toBe(0);
    await h.restart({ whileStopped: () => h.clock.advance(IMPORT_LEASE_MS + 1) });
    await sendReviewed(h, () => updatesOf('cut-off.csv'));
    await h.api.waitFor(() => updatesOf('cut-off.csv').find((c) => /Sent 200 invitations/.test(textOf(c.args))), 20_000, 'the summary');
    expect(h.api.downloads.filter((d) => d.fileId === file.id).map((d) => d.served)).toEqual([false, true]);
  }, 60_000);

  it('Slack refuses the summary for good: the import is finished without it, not tried again', async () => {
    const file = csv('refused-summary.csv', 'refsum@corp.test');
    await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN });
    const posted = await h.api.waitFor(() => dmOf('refused-summary.csv'), 5_000, 'the DM');
    await sendReviewed(h, () => updatesOf('refused-summary.csv'));
    h.api.refuse('chat.update', 'msg_too_long', { ts: posted.answer!.ts });
    await finished('refused-summary.csv', 10_000);
    expect(h.api.failedCallsTo('chat.update').filter((c) => c.args.ts === posted.answer!.ts)).toHaveLength(1);
    expect(await invitedLike('refsum')).toBe(1);
  });

  it("a database slow past Slack's window: the form says the file is being read, and the import is stored late and goes on", async () => {
    const file = csv('slow-db.csv', 'slowdb@corp.test');
    // ADMIN's identity known to this instance (a restart forgot it): only the import's own write waits.
    await h.slash('invites', ADMIN);
    // Another writer holds the table for longer than the deadline.
    let release!: () => void;
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const held = h.db.db.transaction(async (trx) => {
      if (h.db.dialect === 'pg') await trx.raw('LOCK TABLE list_imports IN SHARE ROW EXCLUSIVE MODE');
      else await trx('list_imports').where({ id: 'none' }).delete();
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await holding;
    const res = await h.submitInvite({ emails: '', files: [file] }, { user: ADMIN });
    release();
    await held;
    expect(res.ms).toBeGreaterThan(1_400);
    expect(res.ms).toBeLessThan(3_000);
    expect(textOf((res.json as any).view)).toContain('Reading *slow-db.csv*');
    await sendReviewed(h, () => updatesOf('slow-db.csv'));
    await h.api.waitFor(() => updatesOf('slow-db.csv').find((c) => /Sent 1 invitation/.test(textOf(c.args))), 20_000, 'the summary');
    expect(await invitedLike('slowdb')).toBe(1);
  }, 30_000);
});
