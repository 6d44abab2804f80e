import type { Knex } from 'knex';

/**
 * How a review ended: `back` (the form drawn again) or `sent`. A draft that ended is kept (a day, as
 * any draft) instead of deleted, so a lookup of picked people whose redraw crossed the ending can
 * draw what the ending drew.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invite_drafts', (t) => {
    t.string('ended', 8);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invite_drafts', (t) => {
    t.dropColumn('ended');
  });
}
