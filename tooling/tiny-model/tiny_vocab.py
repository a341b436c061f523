"""The tiny model's vocabulary: a SentencePiece-style ("llama") vocabulary that is character level.

Ids 0-2 are <unk>, <s> and </s>; ids 3-258 are the byte-fallback pieces <0x00>..<0xFF>; then one
piece per printable ASCII character, newline and tab, with the space written as U+2581 the way
SentencePiece writes it. No piece is longer than one character, so llama.cpp's tokenizer cannot
merge anything and every text has exactly one tokenization: the one `encode` below produces.
Characters outside the table are spelled as their UTF-8 bytes through the byte pieces.
"""

SPACE = "\u2581"

UNK, BOS, EOS = 0, 1, 2
BYTE_BASE = 3

# llama.cpp token types
TYPE_NORMAL, TYPE_UNKNOWN, TYPE_CONTROL, TYPE_BYTE = 1, 2, 3, 6


def _pieces():
    pieces = ["<unk>", "<s>", "</s>"]
    types = [TYPE_UNKNOWN, TYPE_CONTROL, TYPE_CONTROL]
    for b in range(256):
        pieces.append(f"<0x{b:02X}>")
        types.append(TYPE_BYTE)
    chars = ["\n", "\t"] + [chr(c) for c in range(0x20, 0x7F)]
    for ch in chars:
        pieces.append(SPACE if ch == " " else ch)
        types.append(TYPE_NORMAL)
    return pieces, types


PIECES, TOKEN_TYPES = _pieces()
VOCAB_SIZE = len(PIECES)
_PIECE_ID = {p: i for i, p in enumerate(PIECES) if TOKEN_TYPES[i] == TYPE_NORMAL}


def encode(text: str) -> list[int]:
    """Token ids for `text` (no <s>): one id per character, byte pieces for the rest."""
    ids = []
    for ch in text:
        piece = SPACE if ch == " " else ch
        if piece in _PIECE_ID:
            ids.append(_PIECE_ID[piece])
        else:
            ids.extend(BYTE_BASE + b for b in ch.encode("utf-8"))
    return ids


def decode(ids) -> str:
    out = bytearray()
    for i in ids:
        i = int(i)
        t = TOKEN_TYPES[i]
        if t == TYPE_BYTE:
            out.append(i - BYTE_BASE)
        elif t == TYPE_NORMAL:
            out.extend(PIECES[i].replace(SPACE, " ").encode("utf-8"))
    return out.decode("utf-8", errors="replace")
