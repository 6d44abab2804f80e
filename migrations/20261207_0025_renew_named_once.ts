import type { Knex } from 'knex';

/**
 * One name for Send new invitation in what is stored: the audit action and the invitation email's
 * reason `new_invitation` become `renew`, as the CLI, the webhook (`invite.renewed`) and the code
 * call it. Queued emails keep their wording ("new link").
 */
export async function up(knex: Knex): Promise<void> {
  await rename(knex, 'new_invitation', 'renew');
}

export async function down(knex: Knex): Promise<void> {
  await rename(knex, 'renew', 'new_invitation');
}

async function rename(knex: Knex, from: string, to: string): Promise<void> {
  await knex('audit_log').where({ action: from }).update({ action: to });
  const before = `"reason":"${from}"`;
  await knex('outbox')
    .where({ kind: 'invite_email' })
    .andWhere('payload', 'like', `%${before}%`)
    .update({ payload: knex.raw('replace(payload, ?, ?)', [before, `"reason":"${to}"`]) });
}
