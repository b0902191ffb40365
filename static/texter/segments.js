// SMS length, counted as texting/segments.py counts it: GSM-7 fits 160 characters in one text
// (153 per part when split); anything else is UCS-2, 70 (67 per part) in UTF-16 code units.
// A character never straddles two parts (an escaped GSM-7 character or an emoji travels whole).

const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
const GSM7_EXTENDED = new Set("^{}\\[~]|€\f");
// Typographic characters mapped to GSM-7 ones on send (keep in step with REPLACEMENTS there).
const REPLACEMENTS = {
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2032": "'", "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
  "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
  "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": "", "\u2022": "-",
};
const REPLACE_PATTERN = new RegExp(`[${Object.keys(REPLACEMENTS).join("")}]`, "g");
const GSM7 = { name: "GSM-7", single: 160, part: 153 };
const UCS2 = { name: "UCS-2", single: 70, part: 67 };

export function cleanText(body) {
  return body.replace(REPLACE_PATTERN, (ch) => REPLACEMENTS[ch]);
}

export function isGsm7(body) {
  for (const ch of body) if (!GSM7_BASIC.has(ch) && !GSM7_EXTENDED.has(ch)) return false;
  return true;
}

function parts(sizes, { single, part }) {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total <= single) return 1;
  let count = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > part) {
      count += 1;
      used = 0;
    }
    used += size;
  }
  return count;
}

export function segmentInfo(text) {
  const body = cleanText(text);
  const encoding = isGsm7(body) ? GSM7 : UCS2;
  // for...of walks code points: an emoji is one step of size 2 (its surrogate pair).
  const sizes = [...body].map((ch) => (encoding === GSM7 ? (GSM7_EXTENDED.has(ch) ? 2 : 1) : ch.length));
  const length = sizes.reduce((sum, size) => sum + size, 0);
  const segments = body ? parts(sizes, encoding) : 1;
  const limit = segments === 1 ? encoding.single : encoding.part * segments;
  return { encoding: encoding.name, length, segments, limit };
}

export function describeLength(text) {
  const info = segmentInfo(text);
  let label = `${info.length}/${info.limit}`;
  if (info.segments > 1) label += ` · ${info.segments} texts`;
  if (info.encoding === "UCS-2" && info.length) label += " · special characters: 70 per text";
  return { ...info, label };
}
