import type { Knex } from 'knex';

/**
 * Whom an outbox item goes to, where one receiver's trouble must not hold the others (a webhook
 * endpoint): a pause puts off all of that receiver's waiting items in one statement, so they are
 * not claimed, one batch after another, ahead of the others' items. Additive: an older instance
 * leaves it empty, and such items are put off one by one as before.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.string('target', 80);
  });
  // Led by the target alone: an index led by the kind would draw the claims (kind = ?) away from
  // outbox_due, to read and sort every waiting item of the kind.
  await knex.raw(`CREATE INDEX outbox_pending_target ON outbox (target) WHERE state = 'pending' AND target IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX outbox_pending_target');
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('target');
  });
}
