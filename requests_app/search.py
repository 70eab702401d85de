"""Arabic-tolerant search text: one normal form for alef/hamza variants, taa marbuta, alef
maqsura, diacritics and tatweel, so "الاسرة" finds "الأُسرة" and "اسره" finds "أسرة"."""

import re

DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "٠": "0",
        "١": "1",
        "٢": "2",
        "٣": "3",
        "٤": "4",
        "٥": "5",
        "٦": "6",
        "٧": "7",
        "٨": "8",
        "٩": "9",
    }
)


def normalize(text: str) -> str:
    text = DIACRITICS.sub("", text or "")
    text = text.translate(FOLD).lower()
    return re.sub(r"\s+", " ", text).strip()
