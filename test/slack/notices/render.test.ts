import { describe, expect, it } from 'vitest';
import { createDb } from '../../../src/db/index.js';
import { MembersService } from '../../../src/members/service.js';
import { renderAcceptedNote } from '../../../src/slack/notices/render.js';
import { CLI, useWorld } from '../../invites/fixtures.js';
import { DIALECTS } from '../../support/db.js';

describe.each(DIALECTS)('the acceptance note (%s)', (dialect) => {
  const world = useWorld(dialect);

  it('is drawn from the member as it is now; a member that no longer exists leaves nothing to tell', async () => {
    const { members } = world();
    const { member } = await members.create({ email: 'noted@corp.test', role: 'member', firstName: 'Noa', lastName: 'Ted' }, CLI);
    expect((await renderAcceptedNote({ members }, member.id))?.text).toContain('noted@corp.test');
    expect(await renderAcceptedNote({ members }, 'mem_gone')).toBeUndefined();
  });

  it('fails (and is retried) when the database cannot be read, rather than dropping the note for good', async () => {
    const w = world();
    const { member } = await w.members.create({ email: 'blip@corp.test', role: 'member' }, CLI);
    const closed = createDb(w.test.config);
    await closed.destroy();
    await expect(renderAcceptedNote({ members: new MembersService(closed, w.clock) }, member.id)).rejects.toThrow();
  });
});
