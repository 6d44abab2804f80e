import { describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/audit/audit.js';
import { cliActor } from '../../src/shared/actor.js';
import { createTestDatabase } from '../support/db.js';

describe('cliActor', () => {
  it('a long operating-system user name still fits where actors are stored (PostgreSQL enforces the 80 characters)', async () => {
    const actor = cliActor('CORP\\' + 'very.long.directory.login.'.repeat(8));
    expect(actor).toMatchObject({ type: 'system', name: expect.stringMatching(/^cli:CORP\\very\.long/) });
    const test = await createTestDatabase('pg');
    try {
      await test.db.transaction((trx) => recordAudit(trx, 1, actor, [{ action: 'revoke', subjectType: 'invitation', subjectId: 'invite_1' }]));
      const [row] = (await test.db('audit_log').select('actor_id')) as Array<{ actor_id: string }>;
      expect(row!.actor_id.length).toBeLessThanOrEqual(80);
    } finally {
      await test.destroy();
    }
  });
});
