/**
 * The Slack app manifest, made from the configuration: `doorman manifest --host HOST [--socket]`
 * prints it, and manifest.yml in the repository is its output for the defaults. Pure: it knows
 * nothing of Bolt, so the CLI and the configuration check can use it.
 */

/** Slack's own slash commands: an app can never own these names. */
export const BUILT_IN_COMMANDS: readonly string[] = [
  '/active', '/apps', '/archive', '/away', '/call', '/collapse', '/dm', '/dnd', '/expand', '/feed', '/feedback', '/help', '/invite',
  '/join', '/kick', '/leave', '/me', '/msg', '/mute', '/open', '/pro', '/remind', '/remove', '/rename', '/search', '/shortcuts',
  '/shrug', '/status', '/topic', '/who',
];

export const DEFAULT_COMMAND = '/doorman';
/** The global shortcut's callback id: "Invite people" from Slack's shortcut menu and search. */
export const INVITE_SHORTCUT = 'invite_people';

/** Why a slash command name cannot be used, or undefined when it can. */
export function commandNameProblem(command: string): string | undefined {
  if (!/^\/[a-z0-9][a-z0-9_-]{0,30}$/.test(command)) return `"${command}" is not a slash command name: a "/", a lowercase letter or digit, then up to 30 more lowercase letters, digits, "-" or "_"`;
  if (BUILT_IN_COMMANDS.includes(command)) return `${command} is one of Slack's built-in commands; choose a name of your own, like /doorman or /acme-invites`;
  return undefined;
}

/** The bot scopes, each for what the code calls with it. */
export const BOT_SCOPES = [
  // The slash command and the global shortcut.
  'commands',
  // chat.postMessage (DMs, summaries, notices), chat.update, chat.postEphemeral.
  'chat:write',
  // users.info: who a Slack user is (team, guest status) ...
  'users:read',
  // ... and the email on their profile.
  'users:read.email',
  // The invite form's file input, and downloading the list file attached to it.
  'files:read',
] as const;

export interface ManifestOptions {
  /** The public host Doorman answers on (HTTP mode), e.g. doorman.example.com. */
  host: string;
  command: string;
  socketMode: boolean;
  name?: string;
}

const q = (text: string) => JSON.stringify(text);

/** The manifest as YAML. */
export function slackManifest(options: ManifestOptions): string {
  const url = `https://${options.host}/slack/events`;
  const requestUrl = (indent: string) => (options.socketMode ? '' : `\n${indent}request_url: ${url}`);
  const name = options.name ?? 'Doorman';
  const made = `doorman manifest ${options.socketMode ? '--socket' : `--host ${options.host}`}`;
  return `# Slack app manifest for Doorman, the output of \`${made}\`.
# Create the app from it at https://api.slack.com/apps ("Create New App" → "From an app manifest").
# See docs/slack.md.
display_information:
  name: ${q(name)}
  description: Invite people, see who is pending, resend, copy links and revoke — without leaving Slack.
  background_color: "#2f3b52"
  long_description: >-
    Doorman runs your organization's invitations from Slack. ${options.command} invite emails
    invitations (alone, it opens a form; so does the "Invite people" shortcut), ${options.command} invites
    shows the invitations with Resend, Copy link, Send new invitation and Revoke buttons,
    ${options.command} members lists members with their roles, and the app's Home tab is a dashboard.
    Only people with the Member: Manage permission can use it; everyone else is told so politely.
features:
  app_home:
    home_tab_enabled: true
    messages_tab_enabled: true
    messages_tab_read_only_enabled: true
  bot_user:
    display_name: ${q(name)}
    always_online: true
  shortcuts:
    - name: Invite people
      type: global
      callback_id: ${INVITE_SHORTCUT}
      description: Invite people to the organization by email
  slash_commands:
    - command: ${options.command}${options.socketMode ? '' : `\n      url: ${url}`}
      description: Invite people and manage invitations and members
      usage_hint: "invite [emails] | invites [pending|expired|awaiting|accepted|revoked|all] [search] | members | help"
      should_escape: true
oauth_config:
  scopes:
    bot:
${BOT_SCOPES.map((scope) => `      - ${scope}`).join('\n')}
settings:
  event_subscriptions:${requestUrl('    ')}
    bot_events:
      - app_home_opened
  interactivity:
    is_enabled: true${requestUrl('    ')}
  org_deploy_enabled: false
  socket_mode_enabled: ${options.socketMode}
  token_rotation_enabled: false
`;
}
