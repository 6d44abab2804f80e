import type { Command } from 'commander';
import { EVENT_TYPES } from '../events/events.js';
import { addEndpoint, endpointHealth, envEndpoints, parseEventTypes, removableEndpoint, removeEndpoint, storedEndpoints, type EndpointHealth, type WebhookEndpoint } from '../webhooks/endpoints.js';
import { plainHttpOffMachine } from '../shared/urls.js';
import { jsonOption, optionValue, yesOption, type CommandDeps } from './command.js';
import { formatDate, table, jsonText } from './format.js';

/** `doorman webhooks add|list|remove`: the endpoints the service signs and sends events to. */
export function registerWebhookCommands(program: Command, { open, print, confirm, progress }: CommandDeps): void {
  const webhooks = program.command('webhooks').description('webhook endpoints (Standard Webhooks): add, list, remove');

  webhooks
    .command('add')
    .description('add an endpoint with its own signing secret (shown once)')
    .argument('<url>', 'where events are POSTed (http:// or https://)')
    .option('--events <types>', `only these event types, comma-separated (default: all): ${EVENT_TYPES.join(', ')}`)
    .addOption(jsonOption())
    .action(async (url: string, opts: { events?: string; json?: boolean }) => {
      const events = opts.events === undefined ? null : optionValue(() => parseEventTypes(opts.events!));
      const s = await open();
      const endpoint = await addEndpoint(s.db, s.clock.now(), { url, events, envUrls: s.config.webhooks.urls, appSecret: s.config.appSecret });
      s.events.forget();
      // On standard error, --json or not: standard output stays what scripts read.
      if (plainHttpOffMachine(endpoint.url)) progress('Note: this endpoint is plain http; the events carry email addresses and names, so use https unless the network between is yours.\n');
      if (opts.json) return print(jsonText({ id: endpoint.id, url: endpoint.url, events: endpoint.events, secret: endpoint.secret }));
      print(`Added webhook endpoint ${endpoint.id} for ${endpoint.url} (${endpoint.events ? endpoint.events.join(', ') : 'all events'}).`);
      print(`Signing secret (shown once; verify with any Standard Webhooks library): ${endpoint.secret}`);
      print('A running service starts sending to it within 10 seconds.');
    });

  webhooks
    .command('list')
    .description('list endpoints (WEBHOOK_URLS and added ones) with their failures of the last 24 h, last error and last success')
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }) => {
      const s = await open();
      const now = s.clock.now();
      const endpoints = [...envEndpoints(s.config.webhooks), ...(await storedEndpoints(s.db))];
      const health = await endpointHealth(s.db, endpoints.map((e) => e.id), now);
      const listed = endpoints.map((endpoint) => ({ ...withoutSecret(endpoint), health: health.get(endpoint.id)! }));
      print(opts.json ? jsonText(listed) : formatEndpoints(listed));
    });

  webhooks
    .command('remove')
    .description('remove an added endpoint (by id or URL); what is still queued for it is dropped')
    .argument('<endpoint>', 'its id (whep_…) or URL')
    .addOption(yesOption())
    .action(async (key: string, opts: { yes?: boolean }) => {
      const s = await open();
      // Found (or refused) before asking: nobody is asked about an endpoint that is not there to remove.
      const endpoint = await removableEndpoint(s.db, key, s.config.webhooks.urls);
      await confirm(`Remove the webhook endpoint ${endpoint.id} (${endpoint.url})? What is still queued for it is dropped.`, opts);
      const removed = await removeEndpoint(s.db, endpoint.id, s.config.webhooks.urls);
      s.events.forget();
      print(`Removed webhook endpoint ${removed.id} (${removed.url}).`);
    });
}

function withoutSecret(endpoint: WebhookEndpoint) {
  return { id: endpoint.id, url: endpoint.url, source: endpoint.source === 'env' ? 'WEBHOOK_URLS' : 'added', events: endpoint.events, state: endpoint.state, disabledReason: endpoint.disabledReason };
}

function formatEndpoints(endpoints: Array<ReturnType<typeof withoutSecret> & { health: EndpointHealth }>): string {
  if (endpoints.length === 0) return 'No webhook endpoints. Set WEBHOOK_URLS and WEBHOOK_SECRET, or run: doorman webhooks add URL';
  return table(
    ['ID', 'URL', 'FROM', 'EVENTS', 'STATE', 'FAILURES 24H', 'LAST ERROR', 'LAST SUCCESS'],
    endpoints.map((e) => [
      e.id,
      e.url,
      e.source,
      e.events ? e.events.join(',') : 'all',
      e.state === 'disabled' ? `disabled: ${e.disabledReason ?? ''}` : e.state,
      String(e.health.failuresLastDay),
      e.health.lastError && e.health.lastFailureAt ? `${formatDate(e.health.lastFailureAt)}: ${e.health.lastError}`.slice(0, 80) : '-',
      e.health.lastSuccessAt ? formatDate(e.health.lastSuccessAt) : 'never',
    ]),
  );
}
