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
 * Lists from files attached to the invite form. The import is stored when the form is submitted;
 * then its file is downloaded with the bot token (only from Slack's file host) and read, and its
 * rows are stored batch by batch while the inviter's DM says how far it got and at last turns into
 * the summary. An import is finished only once its DM shows that summary: one whose runner stopped
 * on the way (a restart, Slack out of reach) is taken over (`resumeStalled`).
 */
export class SlackListImports {
  constructor(
    private readonly deps: ImportDeps,
    private readonly client: webApi.WebClient,
    private readonly botToken: string,
    /** Where files may be fetched from with the token: files.slack.com, or the stand-in in tests. */
    private readonly fileOrigins: readonly string[],
  ) {}

  /** The form's file, stored as an import before anything is downloaded; answers its id. */
  store(user: SlackUser, file: { name: string; url: string }, choices: ImportChoices): Promise<string> {
    return this.deps.invites.createFileImport({ fileName: file.name, url: file.url, ...choices, actor: user.actor, inviterName: user.name ?? null });
  }

  /** Runs an import to its end: its file read (if it is not yet), its rows stored, its summary shown. */
  async run(id: string): Promise<void> {
    const state = await this.deps.invites.listImportState(id);
    let lastShown = 0;
    if (state.stage === 'fetching') {
      const shown = await this.fetch(state);
      if (shown === undefined) return;
      lastShown = shown;
    }
    await this.drive(id, lastShown);
  }

  /**
   * Downloads and reads an import's file, its DM saying so; answers when the DM last changed, or
   * undefined when the file could not be used (the DM says why, and the import is dropped).
   */
  private async fetch(state: ListImportState): Promise<number | undefined> {
    const name = escape(state.fileName);
    let dm = state.dm;
    if (!dm) {
      if (!state.slackUserId || !state.fileUrl) throw new Error(`import ${state.id} has no file to read or no one to tell`);
      const posted = await this.client.chat.postMessage({ channel: state.slackUserId, ...line(`:inbox_tray: Reading *${name}*…`) } as webApi.ChatPostMessageArguments);
      dm = { channel: posted.channel!, ts: posted.ts! };
      await this.deps.invites.showImportIn(state.id, dm);
    }
    const shown = Date.now();
    let list;
    try {
      list = parseListFile(await this.download(state.fileUrl ?? '', state.fileName), state.fileName);
    } catch (error) {
      if (!(error instanceof DomainError)) this.deps.logger.warn({ err: error, file: state.fileName }, 'a list file could not be downloaded');
      const words = error instanceof DomainError ? error.message : `*${name}* could not be downloaded from Slack. Try again in a minute, or use the CLI: \`doorman invite --file\`.`;
      await this.client.chat.update({ channel: dm.channel, ts: dm.ts, ...line(`:warning: ${escape(words)}`) } as webApi.ChatUpdateArguments);
      // Told: nothing of it is kept (a failure to tell leaves it to be taken over and tried again).
      await this.deps.invites.dropListImport(state.id);
      return undefined;
    }
    await this.deps.invites.fillListImport(state.id, list);
    return shown;
  }

  /** Stores batches until the list is done, keeping the DM current; then the summary and its delivery. */
  private async drive(id: string, lastShown: number): Promise<void> {
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
    if (!dm || state.summaryShown) return;
    await followDelivery(this.deps, update, state.summary);
    // Stopped while waiting to show it: the summary is shown by whoever takes the import over.
    if (this.deps.background.isStopped) return;
    await this.deps.invites.markSummaryShown(id);
  }

  /** Imports whose runner stopped (a restart, a crash, Slack out of reach), taken over and finished. */
  async resumeStalled(): Promise<void> {
    for (const id of await this.deps.invites.takeOverStalledImports()) {
      // One import that fails (its lease brings it back) does not keep the others waiting.
      await this.run(id).catch((error: unknown) => this.deps.logger.error({ err: error, import: id }, 'a list import could not go on; it is tried again once its lease runs out'));
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
