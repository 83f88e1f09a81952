/**
 * `country` takes an ISO 3166-1 alpha-2 code; Braze maps other forms on a best effort ("Australia"
 * to "AU") and stores null for anything it cannot map (user attributes object page). Our mapping:
 * the 249 assigned codes in any case, and their English names as ICU spells them.
 */

const CODES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV ' +
    'BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ' +
    'ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE ' +
    'IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY ' +
    'MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU ' +
    'NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM ' +
    'SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE ' +
    'VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

let byName: Map<string, string> | undefined;

/** English names -> codes, built on first use (ICU is in every Node build since 13). */
function names(): Map<string, string> {
  if (byName) return byName;
  byName = new Map();
  const display = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  for (const code of CODES) {
    const name = display.of(code);
    if (name) byName.set(name.toLowerCase(), code);
  }
  return byName;
}

/**
 * The alpha-2 code Braze would store for this value, or undefined when it would store null. A value
 * that is already two capitals (what exports hold) is looked up as it is: trimming and upper-casing
 * it first cost more than the lookup. `countryCodeReference` is the plain version it is tested
 * against (test/unit/values.test.ts).
 */
export function countryCode(value: string): string | undefined {
  if (value.length === 2 && isCapital(value.charCodeAt(0)) && isCapital(value.charCodeAt(1))) {
    return CODES.has(value) ? value : undefined;
  }
  return countryCodeReference(value);
}

function isCapital(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** `countryCode` without the shortcut for two capitals. */
export function countryCodeReference(value: string): string | undefined {
  const text = value.trim();
  const upper = text.toUpperCase();
  if (text.length === 2 && CODES.has(upper)) return upper;
  return names().get(text.toLowerCase());
}

export const COUNTRY_CODE_COUNT = CODES.size;
