import type { types } from '@slack/bolt';
import { ACTIONS } from '../action-values.js';
import { escape } from '../text.js';
import { mrkdwn, plain } from './format.js';
import { LIMITS, type Block } from './limits.js';
import { edits } from '../../shared/edits.js';

/** The subcommands, as help lists them. */
export const SUBCOMMANDS = ['invite', 'invites', 'members', 'help'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/**
 * The short help (the command alone, `help`, or an unknown subcommand), with buttons for the three
 * things people come for. `unknown`: what was typed, and the closest subcommand to suggest.
 */
export function helpMessage(command: string, unknown?: { typed: string; closest?: Subcommand }): { text: string; blocks: Block[] } {
  const c = escape(command);
  const blocks: Block[] = [];
  if (unknown) {
    const suggestion = unknown.closest ? ` Did you mean \`${c} ${unknown.closest}\`?` : '';
    blocks.push({ type: 'section', text: mrkdwn(`:thinking_face: I don't know \`${escape(unknown.typed.slice(0, 40))}\`.${suggestion}`) });
  }
  blocks.push({
    type: 'section',
    text: mrkdwn(
      [
        `*Doorman* runs your organization's invitations.`,
        `• \`${c} invite jane@example.com, sam@example.com\` — invite at once (a list alone works too: \`${c} jane@example.com\`)`,
        `• \`${c} invite\` — the invite form (also the *Invite people* shortcut)`,
        `• \`${c} invites [pending|expired|awaiting|accepted|revoked|all] [search]\` — the invitations, with Resend, Copy link and Revoke (\`awaiting\`: those waiting for approval)`,
        `• \`${c} members\` — members, their roles, deactivate`,
      ].join('\n'),
    ),
  });
  const button = (action: string, label: string, primary = false): types.Button => ({
    type: 'button',
    action_id: action,
    text: plain(label, LIMITS.buttonText),
    value: 'help',
    ...(primary ? { style: 'primary' as const } : {}),
  });
  blocks.push({
    type: 'actions',
    block_id: 'help_actions',
    elements: [button(ACTIONS.openInviteModal, 'Invite people', true), button(ACTIONS.showInvitations, 'Invitations'), button(ACTIONS.showMembers, 'Members')],
  });
  const text = unknown ? `I don't know "${unknown.typed.slice(0, 40)}". Try ${command} help.` : `Doorman: ${command} invite, ${command} invites, ${command} members`;
  return { text, blocks };
}

/** The subcommand closest to what was typed (a typo), if any is close enough. */
export function closestSubcommand(typed: string): Subcommand | undefined {
  let best: { name: Subcommand; distance: number } | undefined;
  for (const name of SUBCOMMANDS) {
    const distance = edits(typed.toLowerCase(), name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

