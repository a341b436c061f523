/** How much of a text from another process a log line keeps: its first 256 UTF-16 code units. */
export const PEER_TEXT_MAX = 256;

/**
 * Text another process sent (a gateway's refusal detail, a node's error detail) cut for a log
 * line: the text itself when it holds at most `max` UTF-16 code units, else its beginning and a
 * mark of how much was left out (`…[+1234]`), the whole at most `max` units (a surrogate pair is
 * never split). A peer's text of any length then costs one short line; the logger escapes its
 * controls.
 */
export function peerText(text: string, max = PEER_TEXT_MAX): string {
  if (text.length <= max) return text;
  // The mark's own length depends on how much is left out, which depends on the mark: take the
  // longest mark the cut could need.
  const mark = (left: number) => `…[+${left}]`;
  let end = Math.max(0, max - mark(text.length).length);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${mark(text.length - end)}`;
}
