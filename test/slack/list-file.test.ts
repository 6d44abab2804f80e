import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { ADMIN, eventually, SlackWorld, textOf } from '../support/slack-world.js';

const ROWS = 10_000;

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
    expect(res.ms).toBeLessThan(1_000);
    expect(textOf((res.json as any).view)).toContain('Reading *people.csv*');

    // The admin rows wait for a second person (the rule "Policy").
    const summary = await h.api.waitFor(() => updatesOf('people.csv').find((c) => /Sent 6,665 invitations/.test(textOf(c.args))), 120_000, 'the summary');
    expect(textOf(summary.args)).toMatch(/Waiting for approval \(3,332\)/);
    expect(textOf(summary.args)).toMatch(/pat@corp\.test/);
    expect(textOf(summary.args)).toMatch(/not-an-address/);
    expect(textOf(summary.args)).toMatch(/boss\.role@corp\.test` — unknown role \\"owner\\"/);
    const updates = updatesOf('people.csv');
    // Progress shows only when storing takes longer than 2 s (see list-imports.test.ts for that case).
    for (const update of updates.slice(0, updates.indexOf(summary))) expect(textOf(update.args)).toMatch(/stored [\d,]+ of 9,999 rows/);
    // In place, and never more often than every 2 s (the summary included).
    const posted = h.api.callsTo('chat.postMessage').find((c) => String(c.args.text).includes('people.csv'))!;
    const times = [posted.at, ...updates.slice(0, updates.indexOf(summary) + 1).map((c) => c.at)];
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
    await h.api.waitFor(() => updatesOf('few.txt').find((c) => /Sent 2 invitations/.test(textOf(c.args))), 20_000, 'the summary');
    expect(await h.db.db('invitations').whereIn('email', ['one.txt@corp.test', 'two.txt@corp.test']).where({ role: 'developer' }).count<{ n: number }[]>({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(2);
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
