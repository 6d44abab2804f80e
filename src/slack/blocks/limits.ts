import type { types } from '@slack/bolt';

/** Slack's Block Kit limits that Doorman's surfaces can reach. https://docs.slack.dev/reference/block-kit */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  text: 3000,
  sectionFieldText: 2000,
  sectionFields: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  modalTitle: 24,
  modalButton: 24,
  optionText: 75,
  optionValue: 150,
  contextElements: 10,
  actionsElements: 25,
  selectOptions: 100,
  privateMetadata: 3000,
  inputLabel: 2000,
  inputHint: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  headerText: 150,
  messageText: 40000,
} as const;

export type Block = types.KnownBlock;
export type Surface = 'message' | 'modal' | 'home';

/** Shortens text to `max` characters, ending with an ellipsis when it had to cut. */
export function clip(text: string, max: number): string {
  // No more UTF-16 units than the limit means no more characters either: nearly every text, left
  // as it is without splitting it into an array of characters on each render.
  if (text.length <= max) return text;
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}

/**
 * Every limit a surface breaks, as readable lines (empty when it is fine). The builders clip
 * their input so this stays empty; the unit tests check it on large and hostile inputs.
 */
export function limitViolations(surface: Surface, blocks: readonly unknown[], extra: { title?: string } = {}): string[] {
  const problems: string[] = [];
  const max = surface === 'message' ? LIMITS.messageBlocks : LIMITS.viewBlocks;
  if (blocks.length > max) problems.push(`${blocks.length} blocks (max ${max})`);
  if (extra.title !== undefined && [...extra.title].length > LIMITS.modalTitle) problems.push(`title "${extra.title}" longer than ${LIMITS.modalTitle}`);
  const actionIds = new Set<string>();
  const check = (what: string, value: unknown, limit: number) => {
    if (typeof value === 'string' && [...value].length > limit) problems.push(`${what} has ${[...value].length} characters (max ${limit})`);
  };
  const walk = (node: unknown, parent: string): void => {
    if (Array.isArray(node)) return node.forEach((child) => walk(child, parent));
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    const type = typeof n.type === 'string' ? n.type : parent;
    if (type === 'plain_text' || type === 'mrkdwn') {
      const limit = parent === 'button' ? LIMITS.buttonText : parent === 'option' ? LIMITS.optionText : parent === 'header' ? LIMITS.headerText : parent === 'section field' ? LIMITS.sectionFieldText : LIMITS.text;
      check(`${parent} text`, n.text, limit);
    }
    if (type === 'button') check('button value', n.value, LIMITS.buttonValue);
    if (type === 'option') check('option value', n.value, LIMITS.optionValue);
    if (typeof n.action_id === 'string') {
      check('action_id', n.action_id, LIMITS.actionId);
      if (actionIds.has(n.action_id)) problems.push(`action_id "${n.action_id}" used twice`);
      actionIds.add(n.action_id);
    }
    if (typeof n.block_id === 'string') check('block_id', n.block_id, LIMITS.blockId);
    if (type === 'section' && Array.isArray(n.fields) && n.fields.length > LIMITS.sectionFields) problems.push(`section with ${n.fields.length} fields`);
    if (type === 'actions' && Array.isArray(n.elements) && n.elements.length > LIMITS.actionsElements) problems.push(`actions with ${n.elements.length} elements`);
    if (type === 'context' && Array.isArray(n.elements) && n.elements.length > LIMITS.contextElements) problems.push(`context with ${n.elements.length} elements`);
    if (Array.isArray(n.options) && n.options.length > LIMITS.selectOptions) problems.push(`select with ${n.options.length} options`);
    if (n.confirm && typeof n.confirm === 'object') {
      const c = n.confirm as Record<string, { text?: string }>;
      check('confirm title', c.title?.text, LIMITS.confirmTitle);
      check('confirm text', c.text?.text, LIMITS.confirmText);
      check('confirm button', c.confirm?.text, LIMITS.confirmButton);
      check('confirm deny', c.deny?.text, LIMITS.confirmButton);
    }
    for (const [key, child] of Object.entries(n)) {
      if (key === 'confirm') continue;
      const childParent = key === 'options' || key === 'initial_option' || key === 'initial_options' ? 'option' : type === 'section' && key === 'fields' ? 'section field' : type;
      walk(child, childParent);
    }
  };
  walk(blocks, 'block');
  return problems;
}
