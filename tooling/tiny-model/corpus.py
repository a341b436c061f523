"""Training documents for the tiny model: the node's development corpus plus generated arithmetic.

The development corpus (apps/node/data/dev-corpus.txt) is original text written for the project.
The generated part spells small sums, differences and products in the shapes the evaluator's
starter tasks use ("Six plus four is ten.", "2 + 3 = 5.", question/answer pairs), so a better
trained checkpoint is measurably better at them. Everything is deterministic for a given seed.
"""

import random
import re

WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "twenty-one", "twenty-two", "twenty-three", "twenty-four",
]


def number_word(n: int) -> str:
    if n < len(WORDS):
        return WORDS[n]
    tens, ones = divmod(n, 10)
    name = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty"}[tens]
    return name if ones == 0 else f"{name}-{WORDS[ones]}"


def load_dev_corpus(path: str) -> list[str]:
    text = open(path, encoding="utf-8").read().replace("\r\n", "\n")
    lines = text.split("\n")
    first = 0
    while first < len(lines) and (lines[first].startswith("#") or lines[first].strip() == ""):
        first += 1
    body = "\n".join(lines[first:])
    docs = [d.strip("\n") for d in re.split(r"\n[ \t]*\n", body)]
    return [d for d in docs if d.strip()]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _fact(rng: random.Random, style: str) -> str:
    op = rng.choice(["+", "-", "*"])
    if op == "+":
        a, b = rng.randint(0, 12), rng.randint(0, 12)
        r, word = a + b, "plus"
    elif op == "-":
        a = rng.randint(0, 12)
        b = rng.randint(0, a)
        r, word = a - b, "minus"
    else:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        r, word = a * b, "times"
    if style == "digits":
        return f"{a} {op} {b} = {r}"
    if style == "question":
        return f"Question: What is {number_word(a)} {word} {number_word(b)}?\nAnswer: {number_word(r)}"
    return f"{_cap(number_word(a))} {word} {number_word(b)} is {number_word(r)}"


def generated_documents(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        style = rng.choice(["words", "words", "digits", "question"])
        n = rng.randint(2, 6)
        facts = [_fact(rng, style) for _ in range(n)]
        docs.append(("\n" if style == "question" else ". ").join(facts) + ("" if style == "question" else "."))
    return docs


def build_documents(dev_corpus_path: str, generated: int = 6000, seed: int = 7) -> list[str]:
    return load_dev_corpus(dev_corpus_path) + generated_documents(generated, seed)
