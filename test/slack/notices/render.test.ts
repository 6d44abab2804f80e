import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../../src/db/index.js';
import { MembersService } from '../../../src/members/service.js';
import { renderAcceptedNote } from '../../../src/slack/notices/render.js';
import { createTestDatabase, DIALECTS, ManualClock, type TestDatabase } from '../../support/db.js';

describe.each(DIALECTS)('the acceptance note (%s)', (dialect) => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await test?.destroy();
  });

  it('is drawn from the member as it is now; a member that no longer exists leaves nothing to tell', async () => {
    const members = new MembersService(test.db, new ManualClock(Date.now()));
    const { member } = await members.create({ email: 'noted@corp.test', role: 'member', firstName: 'Noa', lastName: 'Ted' }, { type: 'system' });
    expect((await renderAcceptedNote({ members }, member.id))?.text).toContain('noted@corp.test');
    expect(await renderAcceptedNote({ members }, 'mem_gone')).toBeUndefined();
  });

  it('fails (and is retried) when the database cannot be read, rather than dropping the note for good', async () => {
    const seeded = new MembersService(test.db, new ManualClock(Date.now()));
    const { member } = await seeded.create({ email: 'blip@corp.test', role: 'member' }, { type: 'system' });
    const closed = createDb(test.config);
    await closed.destroy();
    await expect(renderAcceptedNote({ members: new MembersService(closed, new ManualClock(Date.now())) }, member.id)).rejects.toThrow();
  });
});
