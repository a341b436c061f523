/**
 * SentencePiece-style byte-pair merging over integer tables: the token ids of the Llama 2 and
 * Mistral tokenizers, computed without a per-merge allocation.
 *
 * The counting rules are those of the family's reference tokenizer package, followed to the id:
 *
 * - Text maps to one token per code point (`" "` as the family's `▁`), a code point outside the
 *   vocabulary to the byte tokens `<0xNN>` of its UTF-8 form (a lone surrogate to those of U+FFFD).
 *   A BOS token and a preceding space are added on request; empty text has no tokens at all.
 * - Adjacent pairs merge in the order of a key: the pair's merge rank plus the left token's
 *   position in the initial sequence divided by the text's length in UTF-16 units. The position
 *   counts BOS, the preceding space and byte tokens, so the fraction can exceed 1. The queue here
 *   computes the same key as the same double and runs the same binary-heap operations in the same
 *   order, so even equal keys leave it in the same order.
 *
 * Speed comes from splitting the initial tokens into runs no merge crosses (see `segmented`): where
 * the vocabulary allows it, a space token after another token starts a run, and a token no merge
 * takes (bytes, BOS) is a run of its own. Short runs merge by scanning for the lowest rank (the
 * queue's order within a run: rank, then position), longer ones through the queue. A run's count
 * depends on its ids alone, so counting looks runs up before merging them: in a table of the runs
 * that spell vocabulary tokens (most words), then in one of the runs already merged in the same
 * text, emptied when the call ends.
 */

/** A family's vocabulary and merges, as its reference package exposes them once loaded. */
export interface MergeData {
  /** Token strings by id. */
  readonly vocabById: readonly string[];
  /** Token ids by string. */
  readonly vocabByString: ReadonlyMap<string, number>;
  /** Merge ranks by `"left right"` (the two token strings joined by one space); lower merges first. */
  readonly merges: ReadonlyMap<string, number>;
}

interface Tables {
  readonly vocabSize: number;
  /** Id of each single UTF-16 unit character, -1 where none (surrogates always -1). */
  readonly unitIds: Int32Array;
  /** Ids of the astral-plane characters that are tokens, by code point. */
  readonly astralIds: ReadonlyMap<number, number>;
  /** Ids of the byte tokens `<0x00>`..`<0xFF>` (0, the unknown token, where one is missing). */
  readonly byteIds: Int32Array;
  /** Id a space maps to (the family's `▁`, or -1 to fall back to its bytes). */
  readonly spaceId: number;
  /** UTF-16 unit of the character a space becomes (for its byte fallback). */
  readonly spaceUnit: number;
  /** Open-addressing pair table: `[left * vocabSize + right, rank, merged id]` per slot, key -1 empty. */
  readonly pairs: Int32Array;
  readonly pairMask: number;
  readonly pairShift: number;
  /** 1 for the ids that take part in some merge: the others never join a neighbour. */
  readonly mergeable: Uint8Array;
  /**
   * Whether the text splits into runs merged independently: before every space token that follows
   * another token, and around every token no merge takes. True when no token has the space inside
   * after another character, and merge ranks are at least 2 apart (then, within a run, the queue's
   * order is rank, then position: the position fraction never reaches the next rank).
   */
  readonly segmented: boolean;
  /**
   * The counts of the runs that spell a vocabulary token (only when `segmented`): most words of a
   * text are one of these, and their count is looked up instead of merged. Built from the
   * vocabulary alone, so it holds nothing of any text.
   */
  known: RunTable | undefined;
}

const EMPTY = -1;
const HASH = 0x9e3779b1;
/** Scratch arrays above this many slots are not kept between calls. */
const RETAINED_SLOTS = 1 << 16;

function buildTables(data: MergeData, spaceTokenId: number): Tables {
  const { vocabById, vocabByString, merges } = data;
  const vocabSize = vocabById.length;
  if (vocabSize * vocabSize > 0x7fffffff)
    throw new Error("merge tokenizer: vocabulary too large for pair keys");
  if (vocabByString.size !== vocabSize) throw new Error("merge tokenizer: vocabulary has repeated tokens");

  const unitIds = new Int32Array(0x10000).fill(EMPTY);
  const astralIds = new Map<number, number>();
  for (const [token, id] of vocabByString) {
    if (token.includes(" ")) throw new Error("merge tokenizer: a token contains a space");
    const cp = token.codePointAt(0);
    if (cp === undefined) continue;
    if (cp < 0x10000 && token.length === 1) {
      if (cp < 0xd800 || cp > 0xdfff) unitIds[cp] = id;
    } else if (cp >= 0x10000 && token.length === 2) {
      astralIds.set(cp, id);
    }
  }

  const byteIds = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    byteIds[b] = vocabByString.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`) ?? 0;
  }

  const spaceString = vocabById[spaceTokenId];
  if (spaceString === undefined || spaceString.length !== 1) {
    throw new Error("merge tokenizer: the space token is not one character");
  }
  const spaceUnit = spaceString.charCodeAt(0);
  const spaceId = unitIds[spaceUnit]!;

  let capacity = 1;
  while (capacity < merges.size * 3) capacity <<= 1;
  const pairs = new Int32Array(capacity * 3).fill(EMPTY);
  const pairMask = capacity - 1;
  const pairShift = 32 - Math.log2(capacity);
  const mergeable = new Uint8Array(vocabSize);
  const ranks: number[] = [];
  for (const [key, rank] of merges) {
    const space = key.indexOf(" ");
    const leftString = key.slice(0, space);
    const rightString = key.slice(space + 1);
    const left = vocabByString.get(leftString);
    const right = vocabByString.get(rightString);
    // A merge of strings that are not tokens can never be looked up.
    if (left === undefined || right === undefined) continue;
    const merged = vocabByString.get(leftString + rightString);
    if (merged === undefined) throw new Error("merge tokenizer: a merge yields no token");
    const pairKey = left * vocabSize + right;
    let h = Math.imul(pairKey, HASH) >>> pairShift;
    while (pairs[h * 3] !== EMPTY && pairs[h * 3] !== pairKey) h = (h + 1) & pairMask;
    pairs[h * 3] = pairKey;
    pairs[h * 3 + 1] = rank;
    pairs[h * 3 + 2] = merged;
    mergeable[left] = 1;
    mergeable[right] = 1;
    ranks.push(rank);
  }

  ranks.sort((a, b) => a - b);
  let segmented = ranks.every((rank, i) => Number.isInteger(rank) && (i === 0 || rank - ranks[i - 1]! >= 2));
  for (const token of vocabById) {
    for (let i = token.indexOf(spaceString, 1); segmented && i > 0; i = token.indexOf(spaceString, i + 1)) {
      if (token[i - 1] !== spaceString) segmented = false;
    }
  }
  const tables: Tables = {
    vocabSize,
    unitIds,
    astralIds,
    byteIds,
    spaceId,
    spaceUnit,
    pairs,
    pairMask,
    pairShift,
    mergeable,
    segmented,
    known: undefined,
  };
  // Built on this same object: one shape of tables reaches the merge functions.
  if (segmented) tables.known = knownRuns(tables, vocabById);
  return tables;
}

// Scratch shared by every tokenizer (calls are synchronous and never nested).
// Token slots: a slot is one position of the initial sequence; a merge keeps its left slot.
let tok = new Int32Array(256);
let prev = new Int32Array(256);
let next = new Int32Array(256);
/** Bumped each time a slot's token, or its right neighbour, changes: queued merges of older versions are stale. */
let version = new Int32Array(256);
// Queued merges: the left slot, its version when queued, and the merged token id.
let entrySlot = new Int32Array(256);
let entryVersion = new Int32Array(256);
let entryMerged = new Int32Array(256);
// Binary min-heap of queued merges by key.
let heapEntry = new Int32Array(256);
let heapKey = new Float64Array(256);

function slotCapacity(needed: number): number {
  let c = 256;
  while (c < needed) c <<= 1;
  return c;
}

/** Makes room for `needed` tokens, keeping the first `kept`. */
function ensureTokens(needed: number, kept: number): void {
  if (tok.length >= needed) return;
  const grown = new Int32Array(slotCapacity(needed));
  grown.set(tok.subarray(0, kept));
  tok = grown;
}

function ensureLinks(needed: number): void {
  if (next.length >= needed) return;
  const c = slotCapacity(needed);
  prev = new Int32Array(c);
  next = new Int32Array(c);
  version = new Int32Array(c);
}

function ensureEntries(needed: number): void {
  if (entrySlot.length >= needed) return;
  const c = slotCapacity(needed);
  entrySlot = new Int32Array(c);
  entryVersion = new Int32Array(c);
  entryMerged = new Int32Array(c);
  heapEntry = new Int32Array(c);
  heapKey = new Float64Array(c);
}

/** Drops scratch arrays a long text made larger than what is kept between calls. */
function releaseLarge(): void {
  if (tok.length > RETAINED_SLOTS) tok = new Int32Array(256);
  if (next.length > RETAINED_SLOTS) {
    prev = new Int32Array(256);
    next = new Int32Array(256);
    version = new Int32Array(256);
  }
  if (entrySlot.length > RETAINED_SLOTS) {
    entrySlot = new Int32Array(256);
    entryVersion = new Int32Array(256);
    entryMerged = new Int32Array(256);
    heapEntry = new Int32Array(256);
    heapKey = new Float64Array(256);
  }
}

/** Writes the byte tokens of the UTF-8 form of a BMP unit (surrogates as U+FFFD) from `n`; returns the new length. */
function pushBytes(byteIds: Int32Array, unit: number, n: number): number {
  const c = unit >= 0xd800 && unit <= 0xdfff ? 0xfffd : unit;
  if (c < 0x80) {
    tok[n++] = byteIds[c]!;
  } else if (c < 0x800) {
    tok[n++] = byteIds[0xc0 | (c >> 6)]!;
    tok[n++] = byteIds[0x80 | (c & 0x3f)]!;
  } else {
    tok[n++] = byteIds[0xe0 | (c >> 12)]!;
    tok[n++] = byteIds[0x80 | ((c >> 6) & 0x3f)]!;
    tok[n++] = byteIds[0x80 | (c & 0x3f)]!;
  }
  return n;
}

/** Fills `tok` with the initial tokens of `text`; returns their number. */
function initialTokens(t: Tables, text: string, bos: boolean, precedingSpace: boolean): number {
  const len = text.length;
  // Room for BOS, the preceding space (up to 3 bytes) and one token per unit; a unit that falls back
  // to bytes makes room for its bytes and one token per unit after it.
  ensureTokens(len + 5, 0);
  const { unitIds, astralIds, byteIds, spaceId, spaceUnit } = t;
  let n = 0;
  if (bos) tok[n++] = 1;
  if (precedingSpace) {
    if (spaceId >= 0) tok[n++] = spaceId;
    else n = pushBytes(byteIds, spaceUnit, n);
  }
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20) {
      if (spaceId >= 0) {
        tok[n++] = spaceId;
      } else {
        ensureTokens(n + 4 + (len - i), n);
        n = pushBytes(byteIds, spaceUnit, n);
      }
      continue;
    }
    const id = unitIds[c]!;
    if (id >= 0) {
      tok[n++] = id;
      continue;
    }
    ensureTokens(n + 4 + (len - i), n);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        const astral = astralIds.get(cp);
        if (astral !== undefined) {
          tok[n++] = astral;
        } else {
          tok[n++] = byteIds[0xf0 | (cp >> 18)]!;
          tok[n++] = byteIds[0x80 | ((cp >> 12) & 0x3f)]!;
          tok[n++] = byteIds[0x80 | ((cp >> 6) & 0x3f)]!;
          tok[n++] = byteIds[0x80 | (cp & 0x3f)]!;
        }
        continue;
      }
    }
    n = pushBytes(byteIds, c, n);
  }
  return n;
}

/**
 * Queues the merge of `slot` with its right neighbour, when the pair has one, as entry `entry` in a
 * heap of `size` entries: sifted up while strictly smaller than its parent. Returns whether it did.
 */
function queuePair(t: Tables, slot: number, len: number, entry: number, size: number): boolean {
  const pairs = t.pairs;
  const pairKey = tok[slot]! * t.vocabSize + tok[next[slot]!]!;
  let h = Math.imul(pairKey, HASH) >>> t.pairShift;
  let k = pairs[h * 3]!;
  while (k !== pairKey) {
    if (k === EMPTY) return false;
    h = (h + 1) & t.pairMask;
    k = pairs[h * 3]!;
  }
  entrySlot[entry] = slot;
  entryVersion[entry] = version[slot]!;
  entryMerged[entry] = pairs[h * 3 + 2]!;
  const key = pairs[h * 3 + 1]! + slot / len;
  const heapEntry_ = heapEntry;
  const heapKey_ = heapKey;
  let i = size;
  while (i > 0) {
    const parent = ((i + 1) >>> 1) - 1;
    const parentKey = heapKey_[parent]!;
    if (!(key < parentKey)) break;
    heapEntry_[i] = heapEntry_[parent]!;
    heapKey_[i] = parentKey;
    i = parent;
  }
  heapEntry_[i] = entry;
  heapKey_[i] = key;
  return true;
}

/**
 * Merges the tokens in slots `from`..`to` of `tok` (of a text of `len` UTF-16 units) with the queue;
 * returns how many merges happened. Afterwards slot `from` heads the list of remaining tokens, linked
 * by `next` up to -1.
 */
function mergeQueued(t: Tables, from: number, to: number, len: number): number {
  ensureLinks(to);
  // Each merge queues at most two new pairs.
  ensureEntries(3 * (to - from));
  const tok_ = tok;
  const next_ = next;
  const prev_ = prev;
  const version_ = version;
  const heapEntry_ = heapEntry;
  const heapKey_ = heapKey;
  for (let i = from; i < to; i++) {
    prev_[i] = i - 1;
    next_[i] = i + 1;
    version_[i] = 0;
  }
  prev_[from] = -1;
  next_[to - 1] = -1;

  let entries = 0;
  let size = 0;
  for (let i = from; i + 1 < to; i++) {
    if (queuePair(t, i, len, entries, size)) {
      entries++;
      size++;
    }
  }

  let merges = 0;
  while (size > 0) {
    const e = heapEntry_[0]!;
    // Pop: the last element moves to the root and sifts down, preferring the right child only when
    // strictly smaller than the left.
    size--;
    if (size > 0) {
      const movedEntry = heapEntry_[size]!;
      const movedKey = heapKey_[size]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        const lKey = heapKey_[l]!;
        let child = l;
        let childKey = lKey;
        if (r < size) {
          const rKey = heapKey_[r]!;
          if (rKey < lKey) {
            child = r;
            childKey = rKey;
          }
        }
        if (!(childKey < movedKey)) break;
        heapEntry_[i] = heapEntry_[child]!;
        heapKey_[i] = childKey;
        i = child;
      }
      heapEntry_[i] = movedEntry;
      heapKey_[i] = movedKey;
    }

    const left = entrySlot[e]!;
    if (entryVersion[e] !== version_[left]) continue;
    const right = next_[left]!;
    merges++;
    version_[right]!++;
    version_[left]!++;
    tok_[left] = entryMerged[e]!;
    const after = next_[right]!;
    next_[left] = after;
    if (after >= 0) prev_[after] = left;
    const before = prev_[left]!;
    // Queued in this order: the token before with the merged one, then the merged one with the next.
    if (before >= 0) {
      version_[before]!++;
      if (queuePair(t, before, len, entries, size)) {
        entries++;
        size++;
      }
    }
    if (after >= 0 && queuePair(t, left, len, entries, size)) {
      entries++;
      size++;
    }
  }
  // No merged ids of the text stay behind.
  entryMerged.fill(0, 0, entries);
  return merges;
}

/** Runs up to this many tokens merge by scanning for the lowest rank; longer ones through the queue. */
const SCAN_LIMIT = 32;
const NO_RANK = 0x7fffffff;
const scanRank = new Int32Array(SCAN_LIMIT);
const scanMerged = new Int32Array(SCAN_LIMIT);

/** Sets `scanRank[i]`, `scanMerged[i]` for the pair of tokens `a`, `b`. */
function scanPair(t: Tables, i: number, a: number, b: number): void {
  const pairs = t.pairs;
  const pairKey = a * t.vocabSize + b;
  let h = Math.imul(pairKey, HASH) >>> t.pairShift;
  let k = pairs[h * 3]!;
  while (k !== pairKey) {
    if (k === EMPTY) {
      scanRank[i] = NO_RANK;
      return;
    }
    h = (h + 1) & t.pairMask;
    k = pairs[h * 3]!;
  }
  scanRank[i] = pairs[h * 3 + 1]!;
  scanMerged[i] = pairs[h * 3 + 2]!;
}

/**
 * Merges a run of 2..SCAN_LIMIT tokens in slots `from`..`to` of `tok` in place: the lowest-ranked pair
 * first, the leftmost of equal ones. Returns how many tokens remain (in `from`.. onwards).
 */
function mergeScanned(t: Tables, from: number, to: number): number {
  const tok_ = tok;
  let m = to - from;
  for (let i = 0; i + 1 < m; i++) scanPair(t, i, tok_[from + i]!, tok_[from + i + 1]!);
  for (;;) {
    let best = -1;
    let bestRank = NO_RANK;
    for (let i = 0; i + 1 < m; i++) {
      const rank = scanRank[i]!;
      if (rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return m;
    tok_[from + best] = scanMerged[best]!;
    m--;
    for (let j = best + 1; j < m; j++) tok_[from + j] = tok_[from + j + 1]!;
    for (let i = best + 1; i + 1 < m; i++) {
      scanRank[i] = scanRank[i + 1]!;
      scanMerged[i] = scanMerged[i + 1]!;
    }
    if (best > 0) scanPair(t, best - 1, tok_[from + best - 1]!, tok_[from + best]!);
    if (best + 1 < m) scanPair(t, best, tok_[from + best]!, tok_[from + best + 1]!);
  }
}

/**
 * Counts of runs by their initial ids, in open addressing: `slots` holds `[length, count, offset]`
 * per slot (length 0: empty), the ids sit in `ids` from `offset`. Only runs of
 * {@link RUN_MIN}..{@link RUN_MAX} tokens are kept: shorter ones merge about as fast as they are
 * looked up, longer ones are rare.
 */
interface RunTable {
  readonly slots: Int32Array;
  readonly mask: number;
  readonly ids: Int32Array;
  /** Ids used so far (a table being filled). */
  used: number;
  /** Runs kept so far. */
  size: number;
}

const RUN_MIN = 3;
const RUN_MAX = SCAN_LIMIT;
/** Slots a lookup visits at most: a run that would need more is merged, and not kept. */
const MAX_PROBES = 8;

function runTable(slots: number, ids: number): RunTable {
  return { slots: new Int32Array(slots * 3), mask: slots - 1, ids: new Int32Array(ids), used: 0, size: 0 };
}

/** Hash of the ids in slots `from`..`to` of `tok`. */
function runHash(from: number, to: number): number {
  let h = to - from;
  for (let i = from; i < to; i++) h = Math.imul(h ^ tok[i]!, 0x9e3779b1) ^ (h >>> 15);
  return h ^ (h >>> 16);
}

/**
 * The count kept for the run in slots `from`..`to` of `tok`, or `-1 - slot` for the empty slot
 * where it would go (`-1 - table.slots.length` when the probes ran out).
 */
function lookupRun(table: RunTable, hash: number, from: number, m: number): number {
  const { slots, mask, ids } = table;
  let s = hash & mask;
  for (let probe = 0; probe < MAX_PROBES; probe++) {
    const b = s * 3;
    const length = slots[b]!;
    if (length === 0) return -1 - s;
    if (length === m) {
      const offset = slots[b + 2]!;
      let i = 0;
      while (i < m && ids[offset + i] === tok[from + i]) i++;
      if (i === m) return slots[b + 1]!;
    }
    s = (s + 1) & mask;
  }
  return -1 - slots.length;
}

/**
 * Merges the run in slots `from`..`to` of `tok` and keeps its count at `slot` (an empty slot from
 * {@link lookupRun}), under the ids it had before merging. Returns the count.
 */
function mergeAndKeep(t: Tables, table: RunTable, slot: number, from: number, to: number): number {
  const { slots, ids } = table;
  const m = to - from;
  const offset = table.used;
  for (let i = 0; i < m; i++) ids[offset + i] = tok[from + i]!;
  const count = mergeScanned(t, from, to);
  const b = slot * 3;
  slots[b] = m;
  slots[b + 1] = count;
  slots[b + 2] = offset;
  table.used = offset + m;
  table.size++;
  return count;
}

/**
 * The runs a vocabulary token's characters make, each with its count (merged once here): the
 * table that words of a text are looked up in. Tokens whose characters do not all have ids of
 * their own, and runs outside {@link RUN_MIN}..{@link RUN_MAX}, are left out.
 */
function knownRuns(t: Tables, vocabById: readonly string[]): RunTable {
  let capacity = 1;
  while (capacity < vocabById.length * 2) capacity <<= 1;
  let idCount = 0;
  for (const token of vocabById) idCount += token.length <= RUN_MAX ? token.length : 0;
  const table = runTable(capacity, idCount);
  for (const token of vocabById) {
    if (token.length < RUN_MIN || token.length > RUN_MAX) continue;
    let m = 0;
    for (let i = 0; i < token.length; i++) {
      const id = t.unitIds[token.charCodeAt(i)]!;
      if (id < 0) break;
      tok[m++] = id;
    }
    if (m !== token.length) continue;
    const found = lookupRun(table, runHash(0, m), 0, m);
    if (found >= 0 || found === -1 - table.slots.length) continue;
    mergeAndKeep(t, table, -1 - found, 0, m);
  }
  tok.fill(0, 0, RUN_MAX);
  scanMerged.fill(0);
  return table;
}

/**
 * The runs of the text being counted, with their counts: a word that comes back later in the same
 * text is looked up instead of merged again. Emptied at the end of every call, so that no ids of
 * a text stay behind.
 */
const SEEN_SLOTS = 4096;
const seen = runTable(SEEN_SLOTS, (SEEN_SLOTS / 2) * RUN_MAX);
/** Slots of {@link seen} filled by the call in progress. */
const seenSlots = new Int32Array(SEEN_SLOTS / 2);

function clearSeen(): void {
  const slots = seen.slots;
  for (let i = 0; i < seen.size; i++) {
    const b = seenSlots[i]! * 3;
    slots[b] = 0;
    slots[b + 1] = 0;
    slots[b + 2] = 0;
  }
  seenSlots.fill(0, 0, seen.size);
  seen.ids.fill(0, 0, seen.used);
  seen.used = 0;
  seen.size = 0;
  lookups.tried = 0;
  lookups.found = 0;
  lookups.off = false;
}

/** How many ids and slots the per-text run table holds now: 0 between calls. */
export function heldRunIds(): number {
  let held = 0;
  for (const v of seen.ids) if (v !== 0) held++;
  for (const v of seen.slots) if (v !== 0) held++;
  return held;
}

/** The token count of the run in slots `from`..`to` (as {@link mergeRun}, without its ids). */
function countRun(t: Tables, from: number, to: number, len: number): number {
  const m = to - from;
  const known = t.known;
  if (m < RUN_MIN || m > RUN_MAX || known === undefined || lookups.off)
    return mergeRun(t, from, to, len, undefined);
  if (++lookups.tried === LOOKUP_TRIAL && lookups.found * 4 < LOOKUP_TRIAL) lookups.off = true;
  const hash = runHash(from, to);
  const kept = lookupRun(known, hash, from, m);
  if (kept >= 0) {
    lookups.found++;
    return kept;
  }
  const again = lookupRun(seen, hash, from, m);
  if (again >= 0) {
    lookups.found++;
    return again;
  }
  if (again === -1 - seen.slots.length || seen.size >= seenSlots.length) return mergeScanned(t, from, to);
  seenSlots[seen.size] = -1 - again;
  return mergeAndKeep(t, seen, -1 - again, from, to);
}

/**
 * Runs looked up in the call in progress, and found. A text whose first {@link LOOKUP_TRIAL} runs
 * are found less than a quarter of the time (made-up words, identifiers, another language's
 * vocabulary) merges the rest without looking them up: a lookup that misses costs about half a merge.
 */
const LOOKUP_TRIAL = 256;
const lookups = { tried: 0, found: 0, off: false };

/** Merges slots `from`..`to` as one run; returns its token count, appending its ids to `out` if given. */
function mergeRun(t: Tables, from: number, to: number, len: number, out: number[] | undefined): number {
  const m = to - from;
  if (m === 1) {
    out?.push(tok[from]!);
    return 1;
  }
  if (m <= SCAN_LIMIT && t.segmented) {
    const left = mergeScanned(t, from, to);
    if (out !== undefined) for (let i = from; i < from + left; i++) out.push(tok[i]!);
    return left;
  }
  const left = m - mergeQueued(t, from, to, len);
  if (out !== undefined) for (let slot = from; slot >= 0; slot = next[slot]!) out.push(tok[slot]!);
  return left;
}

/** Token count of non-empty `text`, appending the ids to `out` if given. */
function tokenize(t: Tables, text: string, bos: boolean, precedingSpace: boolean, out?: number[]): number {
  const len = text.length;
  let n = -1;
  try {
    n = initialTokens(t, text, bos, precedingSpace);
    if (!t.segmented) return mergeRun(t, 0, n, len, out);
    const { mergeable, spaceId } = t;
    const tok_ = tok;
    let count = 0;
    let start = 0;
    let before = tok_[0]!;
    for (let p = 1; p < n; p++) {
      const token = tok_[p]!;
      if (mergeable[before] === 0 || mergeable[token] === 0 || (token === spaceId && before !== spaceId)) {
        count += out === undefined ? countRun(t, start, p, len) : mergeRun(t, start, p, len, out);
        start = p;
      }
      before = token;
    }
    return count + (out === undefined ? countRun(t, start, n, len) : mergeRun(t, start, n, len, out));
  } finally {
    // No ids of the text stay behind in the scratch arrays, whatever happened (a text too large
    // to allocate for): nor do runs of one call reach the next, which may count another family.
    tok.fill(0, 0, n < 0 ? tok.length : n);
    scanMerged.fill(0);
    clearSeen();
    releaseLarge();
  }
}

/** The token ids, or count, of text in one family: lazily built tables over its reference data. */
export class MergeTokenizer {
  private tables: Tables | undefined;

  /**
   * @param load returns the family's data; called once, on first use.
   * @param spaceTokenId the id of the token whose string replaces each space (`▁`).
   */
  constructor(
    private readonly load: () => MergeData,
    private readonly spaceTokenId: number,
  ) {}

  private prepared(): Tables {
    if (this.tables === undefined) this.tables = buildTables(this.load(), this.spaceTokenId);
    return this.tables;
  }

  /** Builds the tables now (about 0.1 s), so that no later call pays for it. */
  prepare(): void {
    this.prepared();
  }

  /** Whether the tables are built. */
  get ready(): boolean {
    return this.tables !== undefined;
  }

  /** Number of tokens of `text`; 0 for empty text whatever the options. */
  count(text: string, bos: boolean, precedingSpace: boolean): number {
    if (text.length === 0) return 0;
    return tokenize(this.prepared(), text, bos, precedingSpace);
  }

  /** Token ids of `text`; `[]` for empty text whatever the options. */
  encode(text: string, bos: boolean, precedingSpace: boolean): number[] {
    const ids: number[] = [];
    if (text.length > 0) tokenize(this.prepared(), text, bos, precedingSpace, ids);
    return ids;
  }
}
