import { webApi } from '@slack/bolt';
import type { Role } from '../members/roles.js';
import { parseListFile, type ListFile } from '../invites/list-file.js';
import { fileReviewMessage } from './blocks/file-review.js';
import type { ListImportState } from '../invites/import-state.js';
import { IMPORT_LEASE_MS, ImportLost, type GivenUpImport, type ImportRun } from '../invites/import-runs.js';
import { DomainError } from '../shared/errors.js';
import { count, mrkdwn } from './blocks/format.js';
import { inviteSummary } from './blocks/invite-summary.js';
import { followDelivery } from './delivery-progress.js';
import { downloadSlackFile, FileHostUnavailable } from './file-download.js';
import { refusedForGood } from './refusals.js';
import type { SlackDeps } from './deps.js';
import type { SlackUser } from './identity.js';
import { escape } from './text.js';

/** A DM showing an import's progress is updated at most this often. */
export const IMPORT_PROGRESS_EVERY_MS = 2_000;

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
 * then its file is downloaded with the bot token (only from Slack's file hosts) and read, and its
 * rows are stored batch by batch while the inviter's DM says how far it got and at last turns into
 * the summary. An import is finished only once its DM shows that summary (or Slack refuses it for
 * good): one whose runner stopped on the way (a restart, Slack out of reach) is taken over
 * (`resumeStalled`), and each step of a runner that lost it to another is refused (ImportLost).
 */
export class SlackListImports {
  /**
   * Imports this process runs now, with their runners: never taken over by itself. A Send's runner
   * may start while the run that drew the review is still ending; each run removes only itself.
   */
  private readonly running = new Map<string, Set<string>>();

  constructor(
    private readonly deps: ImportDeps,
    private readonly client: webApi.WebClient,
    private readonly botToken: string,
    /** Where files may be fetched from with the token: SLACK_FILE_ORIGINS, and SLACK_API_URL's origin when set. */
    private readonly fileOrigins: readonly string[],
  ) {}

  /** The form's file, stored as an import before anything is downloaded. */
  store(user: SlackUser, file: { name: string; url: string }, choices: ImportChoices): Promise<ImportRun> {
    return this.deps.invites.createFileImport({ fileName: file.name, url: file.url, ...choices, actor: user.actor, inviterName: user.name ?? null });
  }

  /** The form answered that a file is being read, but storing its import failed: the inviter is told. */
  async notStored(user: SlackUser, name: string, error: unknown): Promise<void> {
    this.deps.logger.error({ err: error, file: name }, 'a list import could not be stored; its inviter is told');
    await this.client.chat
      .postMessage({ channel: user.slackUserId, ...line(`:warning: *${escape(name)}* could not be stored, so nothing of it was invited. Attach it again in a minute.`) } as webApi.ChatPostMessageArguments)
      .catch((failed: unknown) => this.deps.logger.error({ err: failed, file: name }, 'the inviter of a list import that could not be stored could not be told either'));
  }

  /** Runs an import to its end: its file read (if it is not yet), its rows stored, its summary shown. */
  async run(run: ImportRun): Promise<void> {
    const runners = this.running.get(run.id) ?? new Set<string>();
    if (this.deps.background.isStopped || runners.has(run.runner)) return;
    runners.add(run.runner);
    this.running.set(run.id, runners);
    // The lease is kept while a slow step runs (a Slack call waiting out a 429, a download), so a
    // runner still at work is not taken over; a runner that lost it anyway is refused at its next step.
    const heartbeat = setInterval(() => void this.deps.invites.holdImport(run).catch(() => undefined), IMPORT_LEASE_MS / 3);
    heartbeat.unref();
    try {
      const state = await this.deps.invites.listImportState(run.id);
      // Waiting for its inviter's Send: stored by the runner the Send starts.
      if (state.stage === 'review') return;
      let lastShown = 0;
      if (state.stage === 'fetching') {
        const shown = await this.fetch(run, state);
        if (shown === undefined) return;
        lastShown = shown;
      }
      await this.drive(run, lastShown);
    } catch (error) {
      // Stalled past its lease: whoever took it over goes on.
      if (!(error instanceof ImportLost)) throw error;
      this.deps.logger.warn({ import: run.id }, 'a list import was taken over by another runner; this one stops');
    } finally {
      clearInterval(heartbeat);
      runners.delete(run.runner);
      if (!runners.size) this.running.delete(run.id);
    }
  }

  /**
   * Downloads and reads an import's file, its DM saying so; answers when the DM last changed, or
   * undefined when the file could not be used (the DM says why) and the import is dropped.
   */
  private async fetch(run: ImportRun, state: ListImportState): Promise<number | undefined> {
    const name = escape(state.fileName);
    let dm = state.dm;
    if (!dm) {
      if (!state.slackUserId) throw new Error(`import ${run.id} has no one to tell`);
      await this.deps.invites.holdImport(run);
      try {
        const posted = await this.client.chat.postMessage({ channel: state.slackUserId, ...line(`:inbox_tray: Reading *${name}*…`) } as webApi.ChatPostMessageArguments);
        dm = { channel: posted.channel!, ts: posted.ts! };
      } catch (error) {
        if (!refusedForGood(error)) throw error;
        // Nobody to report to (the inviter left, say): nothing is invited behind their back.
        this.deps.logger.warn({ err: error, import: run.id }, 'a list import was dropped: Slack refused the DM to its inviter');
        await this.deps.invites.dropListImport(run);
        return undefined;
      }
      await this.deps.invites.showImportIn(run, dm);
    }
    const shown = Date.now();
    if (this.deps.background.isStopped) return undefined;
    await this.deps.invites.holdImport(run);
    let list;
    try {
      list = parseListFile(await downloadSlackFile(state.fileUrl ?? '', { token: this.botToken, origins: this.fileOrigins, name: state.fileName }), state.fileName);
    } catch (error) {
      const tell = (words: string) => this.updateDm(dm, line(words));
      if (error instanceof FileHostUnavailable) {
        this.deps.logger.warn({ err: error, file: state.fileName }, 'a list file could not be downloaded yet; the import is tried again once its lease runs out');
        await tell(`:hourglass_flowing_sand: *${name}*: Slack's file host did not answer. Trying again in a minute…`);
        throw error;
      }
      if (!(error instanceof DomainError)) this.deps.logger.warn({ err: error, file: state.fileName }, 'a list file could not be downloaded');
      const words = error instanceof DomainError ? error.message : `*${name}* could not be downloaded from Slack (${escape((error as Error).message)}). Try again, or use the CLI: \`doorman invite --file\`.`;
      await tell(`:warning: ${error instanceof DomainError ? escape(words) : words}`);
      await this.deps.invites.dropListImport(run);
      return undefined;
    }
    const review = await this.review(list, state);
    if (review) {
      // Shown before it is kept as a review: a restart in between reads the file again and shows it again.
      if (!(await this.updateDm(dm, review))) {
        this.deps.logger.warn({ import: run.id }, "a list import was dropped: Slack refused its review in the inviter's DM");
        await this.updateDm(dm, line(`:warning: Slack would not show the review of *${name}*, so nothing of it was invited. Attach it in smaller parts, or use the CLI: \`doorman invite --file\`.`)).catch(() => false);
        await this.deps.invites.dropListImport(run);
        return undefined;
      }
      await this.deps.invites.fillListImport(run, list, { review: true });
      return undefined;
    }
    await this.deps.invites.fillListImport(run, list);
    return shown;
  }

  /** The file's review, for its inviter to Send or Cancel; undefined when there is nothing to review (see reviewListImport). */
  private async review(list: ListFile, state: ListImportState): Promise<Message | undefined> {
    const reviewed = await this.deps.invites.reviewListImport(state.id, list);
    return reviewed && fileReviewMessage(state, reviewed.review, reviewed.roleOf, this.deps.invites.policy);
  }

  /** Stores batches until the list is done, keeping the DM current; then the summary and its delivery. */
  private async drive(run: ImportRun, lastShown: number): Promise<void> {
    let state = await this.deps.invites.listImportState(run.id);
    const dm = state.dm;
    const update = async (message: Message) => {
      if (!dm) return;
      // Spaced out, the last one too, so the DM changes at most every IMPORT_PROGRESS_EVERY_MS. The
      // space counts from Slack's answer, so however long a call takes on the way, Slack never sees
      // two closer together.
      const wait = lastShown + IMPORT_PROGRESS_EVERY_MS - Date.now();
      if (wait > 0 && !(await this.deps.background.sleep(wait))) return;
      try {
        await this.client.chat.update({ channel: dm.channel, ts: dm.ts, ...message } as webApi.ChatUpdateArguments);
      } finally {
        lastShown = Date.now();
      }
    };
    while (!state.done) {
      // Stopping: the lease runs out and the next start (or another instance) goes on from here.
      if (this.deps.background.isStopped) return;
      state = await this.deps.invites.storeNextBatch(run);
      if (!state.done && dm && Date.now() - lastShown >= IMPORT_PROGRESS_EVERY_MS) {
        await update(storedSoFar(state)).catch((error: unknown) => this.deps.logger.warn({ err: error }, 'an import progress update failed'));
      }
    }
    if (!dm || state.summaryShown) return;
    await this.deps.invites.holdImport(run);
    try {
      await followDelivery(this.deps, update, state.summary);
    } catch (error) {
      if (!refusedForGood(error)) throw error;
      this.deps.logger.warn({ err: error, import: run.id }, "Slack refused a list import's summary; the import is finished without it");
    }
    // Stopped while waiting to show it: the summary is shown by whoever takes the import over.
    if (this.deps.background.isStopped) return;
    await this.deps.invites.markSummaryShown(run);
  }

  /** Imports whose runner stopped (a restart, a crash, Slack out of reach), taken over one at a time and finished. */
  async resumeStalled(): Promise<void> {
    for (const given of await this.deps.invites.giveUpStaleImports()) {
      this.deps.logger.warn({ import: given.id, file: given.fileName, how: given.how }, 'a list import left unfinished for a day was given up (never read: dropped; reviewed, never sent: dropped; summary never shown: closed)');
      // Slack may still be away: telling waits out its retries without holding up the take-overs.
      this.deps.background.run(() => this.tellGivenUp(given), () => undefined);
    }
    while (!this.deps.background.isStopped) {
      const run = await this.deps.invites.takeOverStalledImport([...this.running.keys()]);
      if (!run) return;
      // One import that fails (its lease brings it back) does not keep the others waiting.
      await this.run(run).catch((error: unknown) => this.deps.logger.error({ err: error, import: run.id }, 'a list import could not go on; it is tried again once its lease runs out'));
    }
  }

  /** Updates an import's DM; answers false when Slack refused it for good (the DM is gone, say). */
  private updateDm(dm: { channel: string; ts: string }, message: Message): Promise<boolean> {
    return this.client.chat.update({ ...dm, ...message } as webApi.ChatUpdateArguments).then(
      () => true,
      (error: unknown) => {
        if (refusedForGood(error)) return false;
        throw error;
      },
    );
  }

  /**
   * Tells the inviter of an import given up, at most once: in its DM (which may still say "trying
   * again"), or in a new DM when it never got one or that one is gone. Slack still away: only logged.
   */
  private async tellGivenUp(given: GivenUpImport): Promise<void> {
    try {
      const message =
        given.how === 'dropped'
          ? line(`:warning: *${escape(given.fileName)}* could not be read from Slack for a day, so nothing of it was invited. Attach it again to invite from it.`)
          : given.how === 'unsent'
            ? line(`:information_source: *${escape(given.fileName)}* was not sent within a day of its review, so nothing of it was invited. Attach it again to invite from it.`)
            : inviteSummary(given.summary, this.deps.command, await this.deps.invites.deliveryProgress(given.summary.invitationIds));
      const updated = given.dm ? await this.updateDm(given.dm, message) : false;
      if (!updated && given.slackUserId) await this.client.chat.postMessage({ channel: given.slackUserId, ...message } as webApi.ChatPostMessageArguments);
    } catch (error) {
      this.deps.logger.warn({ err: error, import: given.id, file: given.fileName }, 'the inviter of a list import given up could not be told');
    }
  }
}

function storedSoFar(state: ListImportState): Message {
  return line(`:hourglass_flowing_sand: *${escape(state.fileName)}*: stored ${state.position.toLocaleString('en')} of ${count(state.total, 'row')}…`);
}
