import { z } from "zod";

/**
 * Characters no announced text may hold: control characters (C0, DEL, C1: line breaks, tabs,
 * terminal escapes), format characters (bidirectional overrides and isolates, zero-width
 * characters), lone surrogates, private-use characters, and the line and paragraph separators.
 * A node's announced text is shown as it is on operators' pages, in terminals and in logs; these
 * are the characters that would change how the text around it reads there (a right-to-left
 * override that turns a name around, an escape that clears a terminal, a break that starts a
 * forged log line) instead of being read themselves.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

/** Whether a text holds none of the characters of {@link HIDDEN}. */
export const isShowableText = (text: string): boolean => !HIDDEN.test(text);

const SHOWABLE = {
  message:
    "no control, format, private-use or line-separator characters (line breaks, tabs, escapes, bidirectional overrides, zero-width characters)",
};

/**
 * Free text of an announcement (an operator name, a model, a GPU, software): `min`–`max` UTF-16
 * units, none of them a character of {@link HIDDEN}.
 */
export const announcedText = (max: number, min = 1) =>
  z.string().min(min).max(max).refine(isShowableText, SHOWABLE);
