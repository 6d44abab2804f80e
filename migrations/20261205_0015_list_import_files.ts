import type { Knex } from 'knex';

/**
 * A Slack list import is stored the moment the form is submitted, before its file is downloaded
 * (`file_url`, state `fetching`), and is finished only once its DM shows the summary
 * (`summary_shown_at`): a restart or a Slack outage at either end no longer loses it. `runner`
 * names who holds the lease, so a runner that stalled past it cannot act on an import another
 * took over. Imports done before this change count as shown.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('list_imports', (t) => {
    t.text('file_url');
    t.bigInteger('summary_shown_at');
    t.string('runner', 40);
  });
  await knex('list_imports').where({ state: 'done' }).update({ summary_shown_at: knex.ref('updated_at') });
}

export async function down(knex: Knex): Promise<void> {
  await knex('list_imports').where({ state: 'fetching' }).delete();
  await knex.schema.alterTable('list_imports', (t) => {
    t.dropColumn('file_url');
    t.dropColumn('summary_shown_at');
    t.dropColumn('runner');
  });
}
