import type { webApi } from '@slack/bolt';
import type { Role } from '../members/roles.js';
import { MAX_FILE_BYTES, notAList, parseListFile } from '../invites/list-file.js';
import type { ListImportState } from '../invites/list-import.js';
import { DomainError } from '../shared/errors.js';
import { count, mrkdwn } from './blocks/format.js';
import { followDelivery } from './delivery-progress.js';
import type { SlackDeps } from './deps.js';
import type { SlackUser } from './identity.js';
import { escape } from './text.js';

/** A DM showing an import's progress is updated at most this often. */
export const IMPORT_PROGRESS_EVERY_MS = 2_000;
const DOWNLOAD_TIMEOUT_MS = 30_000;

export interface ImportChoices {
  role: Role;
  expiresInDays: number | null;
  message: string | null;
}

type Message = { text: string; blocks: unknown[] };
type ImportDeps = Pick<SlackDeps, 'invites' | 'background' | 'clock' | 'logger' | 'command'>;

function line(text: string): Message {
  return { text, blocks: [{ type: 'section', text: mrkdwn(text) }] };
}

/**
 * Lists from files attached to the invite form: downloaded with the bot token (only from Slack's
 * file host), read, then stored batch by batch while the inviter's DM says how far it got and at
 * last turns into the summary. An import whose runner stopped is taken over (`resumeStalled`).
 */
export class SlackListImports {
  constructor(
    private readonly deps: ImportDeps,
    private readonly client: webApi.WebClient,
    private readonly botToken: string,
    /** Where files may be fetched from with the token: files.slack.com, or the stand-in in tests. */
    private readonly fileOrigins: readonly string[],
  ) {}

  /** After the form's answer: the file read and its list stored, reported in a DM. */
  async start(user: SlackUser, file: { name: string; url: string }, choices: ImportChoices): Promise<void> {
    const name = escape(file.name.slice(0, 200));
    const dm = await this.client.chat.postMessage({ channel: user.slackUserId, ...line(`:inbox_tray: Reading *${name}*…`) } as webApi.ChatPostMessageArguments);
    const shown = Date.now();
    const update = (message: Message) => this.client.chat.update({ channel: dm.channel!, ts: dm.ts!, ...message } as webApi.ChatUpdateArguments);
    let list;
    try {
      list = parseListFile(await this.download(file.url, file.name), file.name);
    } catch (error) {
      if (!(error instanceof DomainError)) this.deps.logger.warn({ err: error, file: file.name }, 'a list file could not be downloaded');
      const words = error instanceof DomainError ? error.message : `*${name}* could not be downloaded from Slack. Try again in a minute, or use the CLI: \`doorman invite --file\`.`;
      await update(line(`:warning: ${escape(words)}`));
      return;
    }
    const id = await this.deps.invites.createListImport({ fileName: file.name, file: list, ...choices, actor: user.actor, inviterName: user.name ?? null, dm: { channel: dm.channel!, ts: dm.ts! } });
    await this.drive(id, shown);
  }

  /** Stores batches until the list is done, keeping the DM current; then the summary and its delivery. */
  async drive(id: string, lastShown = 0): Promise<void> {
    let state = await this.deps.invites.listImportState(id);
    const dm = state.dm;
    const update = async (message: Message) => {
      if (!dm) return;
      // Spaced out, the last one too, so the DM changes at most every IMPORT_PROGRESS_EVERY_MS.
      const wait = lastShown + IMPORT_PROGRESS_EVERY_MS - Date.now();
      if (wait > 0 && !(await this.deps.background.sleep(wait))) return;
      lastShown = Date.now();
      await this.client.chat.update({ channel: dm.channel, ts: dm.ts, ...message } as webApi.ChatUpdateArguments);
    };
    while (!state.done) {
      // Stopping: the lease runs out and the next start (or another instance) goes on from here.
      if (this.deps.background.isStopped) return;
      state = await this.deps.invites.storeNextBatch(id);
      if (!state.done && dm && Date.now() - lastShown >= IMPORT_PROGRESS_EVERY_MS) {
        await update(storedSoFar(state)).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'an import progress update failed'));
      }
    }
    if (dm) await followDelivery(this.deps, update, state.summary);
  }

  /** Imports whose runner stopped (a restart, a crash), taken over and finished. */
  async resumeStalled(): Promise<void> {
    for (const id of await this.deps.invites.takeOverStalledImports()) {
      // One import that fails (its lease brings it back) does not keep the others waiting.
      await this.drive(id).catch((error: unknown) => this.deps.logger.error({ err: error, import: id }, 'a list import could not go on; it is tried again once its lease runs out'));
    }
  }

  private async download(url: string, name: string): Promise<Buffer> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new Error('the file has no usable address');
    }
    // The bot token goes to Slack's file host only.
    if (!this.fileOrigins.includes(target.origin)) throw new Error(`files are not fetched from ${target.origin}`);
    const res = await fetch(target, { headers: { authorization: `Bearer ${this.botToken}` }, redirect: 'error', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`Slack answered ${res.status} for the file`);
    // Without files:read (or the token) Slack answers with its sign-in page instead of the file.
    if ((res.headers.get('content-type') ?? '').includes('text/html')) throw new Error('Slack answered with a web page instead of the file (is the files:read scope granted?)');
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_FILE_BYTES) {
      await res.body?.cancel();
      throw notAList(name, `it is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`);
    }
    return Buffer.from(await res.arrayBuffer());
  }
}

function storedSoFar(state: ListImportState): Message {
  return line(`:hourglass_flowing_sand: *${escape(state.fileName)}*: stored ${state.position.toLocaleString('en')} of ${count(state.total, 'row')}…`);
}
