import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MembersService } from '../../src/members/service.js';
import { systemClock } from '../../src/shared/clock.js';
import { AdminAuth } from '../../src/web/auth.js';
import { createTestDatabase, TEST_SECRET, type TestDatabase } from '../support/db.js';

/** A request carrying only the given headers. */
const withHeaders = (headers: Record<string, string>) => ({ get: (name: string) => headers[name.toLowerCase()] }) as unknown as Request;

describe('AdminAuth', () => {
  let t: TestDatabase;
  let members: MembersService;
  let auth: AdminAuth;
  beforeAll(async () => {
    t = await createTestDatabase('sqlite');
    members = new MembersService(t.db, systemClock);
    auth = new AdminAuth(TEST_SECRET, members, systemClock, false);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('a database fault while reading the member is the server\'s error, not "sign in first"; a member gone ends the token', async () => {
    const { member } = await members.create({ email: 'bearer@corp.test', role: 'admin' }, { type: 'system' });
    const request = withHeaders({ authorization: `Bearer ${await auth.issueBearer(member)}` });
    expect((await auth.authenticate(request))?.member.id).toBe(member.id);

    const fault = new Error('connection terminated unexpectedly');
    const find = members.find.bind(members);
    members.find = () => Promise.reject(fault);
    try {
      await expect(auth.authenticate(request)).rejects.toBe(fault);
    } finally {
      members.find = find;
    }

    await t.db('members').where({ id: member.id }).delete();
    expect(await auth.authenticate(request)).toBeUndefined();
  });
});
