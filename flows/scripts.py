"""Writing Sylheti in Syloti Nagri, and reading it back: a small letter table of our own.

Syloti Nagri (U+A800–U+A82C) has fewer letters than Bengali script, the way Sylheti has fewer
sounds: শ, ষ and স are all ꠡ; ই and ঈ are ꠁ; ন and ণ are ꠘ; ড় and ঢ় are ꠠ. The table maps
each Bengali letter to the Syloti Nagri one a Sylheti writer uses for it. A library could
do this (aksharamukha has the script), but it writes য় as ꠎ (ja), where Sylheti writers use
the vowel (মায়ের, mayer, is ꠝꠣꠄꠞ), and it brings 120 MB of dependencies for sixty pairs.

Going back, each Syloti Nagri letter becomes its most common Bengali spelling. The two
directions are not inverses (Bengali spellings are lost), which is why `fold` exists: text in
either script, folded, compares equal when a Sylheti reader would read it the same.
"""

from __future__ import annotations

from functools import lru_cache

# Consonants and vowel signs: one Syloti Nagri letter for each Bengali one.
_CONSONANTS = {
    "ক": "ꠇ",
    "খ": "ꠈ",
    "গ": "ꠉ",
    "ঘ": "ꠊ",
    "ঙ": "ꠋ",  # the nasal is written with the anusvara
    "চ": "ꠌ",
    "ছ": "ꠍ",
    "জ": "ꠎ",
    "ঝ": "ꠏ",
    "ঞ": "ꠘ",
    "ট": "ꠐ",
    "ঠ": "ꠑ",
    "ড": "ꠒ",
    "ঢ": "ꠓ",
    "ণ": "ꠘ",
    "ত": "ꠔ",
    "থ": "ꠕ",
    "দ": "ꠖ",
    "ধ": "ꠗ",
    "ন": "ꠘ",
    "প": "ꠙ",
    "ফ": "ꠚ",
    "ব": "ꠛ",
    "ভ": "ꠜ",
    "ম": "ꠝ",
    "য": "ꠎ",
    "র": "ꠞ",
    "ল": "ꠟ",
    "শ": "ꠡ",
    "ষ": "ꠡ",
    "স": "ꠡ",
    "হ": "ꠢ",
    "\u09dc": "ꠠ",  # ড়
    "\u09dd": "ꠠ",  # ঢ়
    "ৎ": "ꠔ",
}
_VOWELS = {
    "অ": "ꠅ",
    "আ": "ꠀ",
    "ই": "ꠁ",
    "ঈ": "ꠁ",
    "উ": "ꠃ",
    "ঊ": "ꠃ",
    "ঋ": "ꠞꠤ",
    "এ": "ꠄ",
    "ঐ": "ꠅꠁ",
    "ও": "ꠅ",
    "ঔ": "ꠅꠃ",
}
_SIGNS = {
    "া": "ꠣ",
    "ি": "ꠤ",
    "ী": "ꠤ",
    "ু": "ꠥ",
    "ূ": "ꠥ",
    "ৃ": "ꠞꠤ",
    "ে": "ꠦ",
    "ৈ": "ꠂ",
    "ো": "ꠧ",
    "ৌ": "ꠧꠃ",
    "ং": "ꠋ",
    "্": "꠆",  # the hasanta: conjuncts are written with it
}
# Marks Syloti Nagri does without: chandrabindu, visarga, nukta, the length mark.
_DROPPED = {"ঁ", "ঃ", "়", "ৗ"}
# য় before a vowel sign becomes that vowel written in full: যা (ya) is ꠀ after a vowel.
_Y_BEFORE_SIGN = {"া": "ꠀ", "ি": "ꠁ", "ী": "ꠁ", "ু": "ꠃ", "ূ": "ꠃ", "ে": "ꠄ", "ো": "ꠅ"}
_Y = "\u09df"  # য়
# NFC writes ড়, ঢ় and য় as a letter and a nukta; the table knows them as one letter each.
_PRECOMPOSED = (("ড\u09bc", "\u09dc"), ("ঢ\u09bc", "\u09dd"), ("য\u09bc", "\u09df"))

_BACK = {
    "ꠀ": "আ",
    "ꠁ": "ই",
    "ꠂ": "ৈ",
    "ꠃ": "উ",
    "ꠄ": "এ",
    "ꠅ": "অ",
    "꠆": "্",
    "ꠇ": "ক",
    "ꠈ": "খ",
    "ꠉ": "গ",
    "ꠊ": "ঘ",
    "ꠋ": "ং",
    "ꠌ": "চ",
    "ꠍ": "ছ",
    "ꠎ": "জ",
    "ꠏ": "ঝ",
    "ꠐ": "ট",
    "ꠑ": "ঠ",
    "ꠒ": "ড",
    "ꠓ": "ঢ",
    "ꠔ": "ত",
    "ꠕ": "থ",
    "ꠖ": "দ",
    "ꠗ": "ধ",
    "ꠘ": "ন",
    "ꠙ": "প",
    "ꠚ": "ফ",
    "ꠛ": "ব",
    "ꠜ": "ভ",
    "ꠝ": "ম",
    "ꠞ": "র",
    "ꠟ": "ল",
    "ꠠ": "\u09dc",
    "ꠡ": "স",
    "ꠢ": "হ",
    "ꠣ": "া",
    "ꠤ": "ি",
    "ꠥ": "ু",
    "ꠦ": "ে",
    "ꠧ": "ো",
}


def to_syloti_nagri(text: str) -> str:
    """Write Bengali-script text in Syloti Nagri; everything else stays as it is."""
    for decomposed, letter in _PRECOMPOSED:
        text = text.replace(decomposed, letter)
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""
        if char == "্" and following == "য":
            index += 2  # the ya-phala (ক্যা, kæ) is a vowel Syloti Nagri does not write
            continue
        if char == _Y:
            if following in _Y_BEFORE_SIGN:
                out.append(_Y_BEFORE_SIGN[following])
                index += 2
                continue
            out.append("ꠄ")
        elif char in _CONSONANTS:
            out.append(_CONSONANTS[char])
        elif char in _VOWELS:
            out.append(_VOWELS[char])
        elif char in _SIGNS:
            out.append(_SIGNS[char])
        elif char not in _DROPPED:
            out.append(char)
        index += 1
    return "".join(out)


def to_bengali(text: str) -> str:
    """Read Syloti Nagri as Bengali script, each letter in its most common spelling."""
    return "".join(_BACK.get(char, char) for char in text)


# For matching only: letters Sylheti speakers say alike, and so spell either way. Sylheti has
# lost most aspiration (খ and ক, থ and ত), says চ and ছ as স, and writers mix the dental and
# retroflex t and d, above all in English words (টেক্সট, টেক্স্ত).
_ALIKE = str.maketrans(
    {
        "ꠈ": "ꠇ",
        "ꠊ": "ꠉ",
        "ꠍ": "ꠡ",  # চ and ছ are said "s" in Sylheti: মেছেজ and মেসেজ are one word
        "ꠌ": "ꠡ",
        "ꠏ": "ꠎ",
        "ꠑ": "ꠔ",
        "ꠐ": "ꠔ",
        "ꠕ": "ꠔ",
        "ꠓ": "ꠖ",
        "ꠒ": "ꠖ",
        "ꠗ": "ꠖ",
        "ꠚ": "ꠙ",
        "ꠜ": "ꠛ",
        "꠆": None,  # the hasanta: Syloti Nagri writers often leave conjuncts unmarked
    }
)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """One spelling for words a Sylheti reader reads alike, in either script (for matching)."""
    return to_syloti_nagri(word).translate(_ALIKE)
